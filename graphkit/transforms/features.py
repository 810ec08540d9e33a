"""Node-feature transforms: ``NormalizeFeatures``, ``OneHotDegree``."""
from __future__ import annotations

from typing import Sequence

import torch

from graphkit.graph import Graph
from graphkit.transforms.base import BaseTransform, fields_of, new_graph

__all__ = ["NormalizeFeatures", "OneHotDegree"]


class NormalizeFeatures(BaseTransform):
    r"""Shift each named field so its smallest entry is 0, then scale every row to sum to 1 (rows summing to less
    than 1 are left unscaled): :math:`x_i \leftarrow (x_i - m) / \max(1, \sum_k (x_{ik} - m))`, :math:`m = \min x`.

    >>> g = Graph(x=torch.tensor([[1.0, 3.0], [0.0, 0.5]]))
    >>> NormalizeFeatures()(g).x.tolist()
    [[0.25, 0.75], [0.0, 0.5]]
    """

    def __init__(self, attrs: Sequence[str] = ("x",)) -> None:
        self.attrs = list(attrs)

    def forward(self, graph: Graph) -> Graph:
        fields = fields_of(graph)
        for name in self.attrs:
            if name not in fields:
                continue
            value, kind = fields[name]
            if not torch.is_tensor(value) or not value.is_floating_point():
                raise TypeError(f"NormalizeFeatures: field {name!r} must be a floating tensor")
            if value.numel():
                value = value - value.min()
                value = value / value.sum(dim=-1, keepdim=True).clamp(min=1.0)
            fields[name] = (value, kind)
        return new_graph(graph.num_nodes, graph.edge_index, fields)


class OneHotDegree(BaseTransform):
    """Append the one-hot out-degree (in-degree with ``in_degree=True``) of every node to ``x`` (or make it ``x``
    when there is none, or when ``cat=False``). Degrees above ``max_degree`` raise ``ValueError``.

    >>> g = Graph(edge_index=torch.tensor([[0, 0, 1], [1, 2, 2]]))
    >>> OneHotDegree(2)(g).x.tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """

    def __init__(self, max_degree: int, in_degree: bool = False, cat: bool = True) -> None:
        if max_degree < 0:
            raise ValueError(f"max_degree must be non-negative, got {max_degree}")
        self.max_degree, self.in_degree, self.cat = max_degree, in_degree, cat

    def forward(self, graph: Graph) -> Graph:
        n = graph.num_nodes
        ei = graph.edge_index if graph.edge_index is not None else torch.empty(2, 0, dtype=torch.long)
        deg = torch.bincount(ei[1 if self.in_degree else 0], minlength=n)
        if deg.numel() and int(deg.max()) > self.max_degree:
            raise ValueError(f"OneHotDegree: a node has degree {int(deg.max())} > max_degree {self.max_degree}")
        onehot = torch.nn.functional.one_hot(deg, self.max_degree + 1).to(torch.get_default_dtype())
        fields = fields_of(graph)
        x = graph.x
        if x is not None and self.cat:
            x = x.view(-1, 1) if x.dim() == 1 else x
            onehot = torch.cat([x, onehot.to(x.dtype)], dim=-1)
        fields["x"] = (onehot, "node")
        return new_graph(n, graph.edge_index, fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.max_degree})"
