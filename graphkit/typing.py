"""Type aliases shared by every layer, so signatures stay short and honest."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from graphkit.graph import Graph

__all__ = ["Adj", "OptTensor", "PairTensor", "OptPairTensor", "Size"]

#: What every operator accepts as structure: a ``[2, E]`` edge_index, a ``Graph``/``Batch`` (its cached CSR is
#: used), or a torch-sparse ``SparseTensor`` (typed as ``Any`` so torch-sparse stays optional).
Adj = Union[Tensor, "Graph", Any]
OptTensor = Optional[Tensor]
#: ``(x_src, x_dst)`` for bipartite message passing.
PairTensor = Tuple[Tensor, Tensor]
OptPairTensor = Tuple[Tensor, Optional[Tensor]]
#: ``(num_src_nodes, num_dst_nodes)``.
Size = Optional[Tuple[int, int]]
