"""Label homophily of a graph: how often edges join nodes of the same class."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.utils._checks import as_edge_index

__all__ = ["homophily"]

_METHODS = ("edge", "node", "edge_insensitive")


def homophily(edge_index: Tensor, y: Tensor, batch: Optional[Tensor] = None,
              method: str = "edge") -> Union[float, Tensor]:
    r"""The homophily of ``y`` over the graph (per graph of a batch when ``batch`` is given):

    * ``"edge"`` (Zhu et al. 2020): :math:`\frac{|\{(j, i) \in E : y_j = y_i\}|}{|E|}`;
    * ``"node"`` (Pei et al. 2020): :math:`\frac{1}{|V|} \sum_i \frac{|\{j \to i : y_j = y_i\}|}{|\mathcal N(i)|}`
      (a node without incoming edges counts 0);
    * ``"edge_insensitive"`` (Lim et al. 2021): :math:`\frac{1}{C-1} \sum_k \max(0, h_k - |C_k|/|V|)` with
      :math:`h_k` the edge homophily of the edges into class :math:`k`.

    Returns a float, or a ``[B]`` tensor with ``batch``.

    >>> ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    >>> homophily(ei, torch.tensor([0, 0, 1, 1]))
    0.5
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    edge_index = as_edge_index(edge_index)
    y = y.squeeze(-1) if y.dim() > 1 else y
    if y.dim() != 1:
        raise ValueError(f"y must hold one label per node, got shape {list(y.shape)}")
    if edge_index.numel() and int(edge_index.max()) >= y.numel():
        raise ValueError(f"edge_index has index {int(edge_index.max())} but y has {y.numel()} nodes")
    src, dst = edge_index
    same = (y[src] == y[dst]).to(torch.get_default_dtype())
    if method == "edge":
        if batch is None:
            return float(same.mean()) if same.numel() else float("nan")
        return ops.scatter(same, batch[dst], dim_size=int(batch.max()) + 1, reduce="mean")
    if method == "node":
        per_node = ops.scatter(same, dst, dim_size=y.numel(), reduce="mean")
        if batch is None:
            return float(per_node.mean())
        return ops.scatter(per_node, batch, dim_size=int(batch.max()) + 1, reduce="mean")
    num_classes = int(y.max()) + 1
    if num_classes < 2:
        raise ValueError("edge_insensitive homophily needs at least two classes")
    batch = torch.zeros_like(y) if batch is None else batch
    num_graphs = int(batch.max()) + 1
    group = batch * num_classes + y  # (graph, class of the target node)
    cells = num_graphs * num_classes
    h = ops.scatter(same, group[dst], dim_size=cells, reduce="mean").view(num_graphs, num_classes)
    share = torch.bincount(group, minlength=cells).view(num_graphs, num_classes).to(h.dtype)
    share = share / torch.bincount(batch, minlength=num_graphs).to(h.dtype).view(-1, 1)
    out = (h - share).clamp(min=0).sum(dim=-1) / (num_classes - 1)
    return float(out) if out.numel() == 1 else out
