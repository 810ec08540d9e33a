"""Type aliases shared by ops and layers, so signatures stay short and honest.

>>> import torch
>>> from graphkit import Graph, ops
>>> def mean_neighbour(adj: AdjLike, x: torch.Tensor) -> torch.Tensor:
...     return ops.spmm(adj, x, reduce="mean")
>>> mean_neighbour(Graph(edge_index=torch.tensor([[0, 1], [1, 1]])), torch.ones(2, 1)).view(-1).tolist()
[0.0, 1.0]
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

from torch import Tensor

from graphkit.ops.adjacency import Adjacency, HasAdjacency

__all__ = ["AdjLike", "Adj", "OptTensor", "PairTensor", "OptPairTensor", "Size"]

#: What every op and layer accepts as structure: an :class:`~graphkit.ops.adjacency.Adjacency`, anything that
#: carries one as ``.adj`` (``Graph``, ``Batch``), or a ``[2, E]`` edge_index tensor (a ``torch.sparse`` matrix is
#: a tensor too; layers also take a torch-sparse ``SparseTensor``, which stays an optional dependency).
AdjLike = Union[Adjacency, HasAdjacency, Tensor]
#: PyG's name for the same thing.
Adj = AdjLike
OptTensor = Optional[Tensor]
#: ``(x_src, x_dst)`` for bipartite message passing.
PairTensor = Tuple[Tensor, Tensor]
OptPairTensor = Tuple[Tensor, Optional[Tensor]]
#: ``(num_src_nodes, num_dst_nodes)``, either side possibly unknown.
Size = Optional[Tuple[Optional[int], Optional[int]]]
