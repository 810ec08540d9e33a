"""Positional and structural encodings as transforms, on the math of :mod:`graphkit.nn.attention.encodings`."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.attention.encodings import laplacian_pe, random_walk_se
from graphkit.transforms.base import BaseTransform, fields_of, new_graph

__all__ = ["AddLaplacianEigenvectorPE", "AddRandomWalkPE"]


def _add_node_field(graph: Graph, value: Tensor, attr_name: Optional[str]) -> Graph:
    """Store ``value`` as node field ``attr_name``, or append it to ``x`` when ``attr_name`` is ``None``."""
    fields = fields_of(graph)
    if attr_name is None:
        x = graph.x
        if x is not None:
            x = x.view(-1, 1) if x.dim() == 1 else x
            value = torch.cat([x, value.to(x.device, x.dtype)], dim=-1)
        fields["x"] = (value, "node")
    else:
        fields[attr_name] = (value, "node")
    return new_graph(graph.num_nodes, graph.edge_index, fields)


class AddLaplacianEigenvectorPE(BaseTransform):
    r"""The ``k`` eigenvectors of :math:`\mathbf{L} = \mathbf{I} - \mathbf{D}^{-1/2}\mathbf{A}\mathbf{D}^{-1/2}`
    after the trivial one (smallest eigenvalues first), each with a random sign, as node field ``attr_name``
    ``[N, k]`` (appended to ``x`` when ``None``). Zero-padded for graphs with ``k + 1`` nodes or fewer. The graph
    is read as undirected (``is_undirected`` is accepted for PyG compatibility). Edge weights come from the field
    ``edge_weight`` when present.

    >>> ring = torch.tensor([[0, 1, 2, 3, 1, 2, 3, 0], [1, 2, 3, 0, 0, 1, 2, 3]])
    >>> AddLaplacianEigenvectorPE(2)(Graph(edge_index=ring)).laplacian_eigenvector_pe.shape
    torch.Size([4, 2])
    """

    def __init__(self, k: int, attr_name: Optional[str] = "laplacian_eigenvector_pe", is_undirected: bool = False,
                 **kwargs: Any) -> None:
        self.k, self.attr_name, self.is_undirected = k, attr_name, is_undirected

    def forward(self, graph: Graph) -> Graph:
        weight = getattr(graph, "edge_weight", None)
        dtype = graph.x.dtype if graph.x is not None and graph.x.is_floating_point() else torch.get_default_dtype()
        pe = laplacian_pe(graph, self.k, edge_weight=weight, sign_flip=True, dtype=dtype)
        return _add_node_field(graph, pe, self.attr_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


class AddRandomWalkPE(BaseTransform):
    r"""Random-walk structural encoding :math:`(\mathbf{P}_{ii}, (\mathbf{P}^2)_{ii}, \dots,
    (\mathbf{P}^K)_{ii})`, :math:`\mathbf{P} = \mathbf{D}_{out}^{-1}\mathbf{A}`, as node field ``attr_name``
    ``[N, walk_length]`` (appended to ``x`` when ``None``). Edge weights come from ``edge_weight`` when present.

    >>> triangle = torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])
    >>> AddRandomWalkPE(3)(Graph(edge_index=triangle)).random_walk_pe[0].tolist()
    [0.0, 0.5, 0.25]
    """

    def __init__(self, walk_length: int, attr_name: Optional[str] = "random_walk_pe") -> None:
        self.walk_length, self.attr_name = walk_length, attr_name

    def forward(self, graph: Graph) -> Graph:
        weight = getattr(graph, "edge_weight", None)
        dtype = graph.x.dtype if graph.x is not None and graph.x.is_floating_point() else torch.get_default_dtype()
        se = random_walk_se(graph, self.walk_length, edge_weight=weight, dtype=dtype)
        return _add_node_field(graph, se, self.attr_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(walk_length={self.walk_length})"
