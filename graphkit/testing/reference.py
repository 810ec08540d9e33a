"""Plain-torch reference of every ``graphkit.ops`` op: the test oracle.

Written for obviousness, not speed: per-edge messages are materialised and reduced with ``scatter_reduce``
straight from ``edge_index``, sharing no code with ``graphkit.ops`` (so a bug there cannot hide here too).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["scatter", "segment", "spmm", "sddmm", "edge_softmax"]

_AMAX = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}


def scatter(src: Tensor, index: Tensor, dim_size: Optional[int] = None, reduce: str = "sum") -> Tensor:
    """``out[i] = reduce_{j: index[j] = i} src[j]``; empty groups are 0."""
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    out = src.new_zeros((dim_size,) + tuple(src.shape[1:]))
    idx = index.long().view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    return out.scatter_reduce(0, idx, src, _AMAX[reduce], include_self=False)


def segment(src: Tensor, ptr: Tensor, reduce: str = "sum") -> Tensor:
    counts = (ptr[1:] - ptr[:-1]).long()
    index = torch.repeat_interleave(torch.arange(counts.numel(), device=src.device), counts)
    return scatter(src[: index.numel()], index, counts.numel(), reduce)


def _edges(adj: object) -> Tensor:
    return adj.edge_index if hasattr(adj, "edge_index") and not isinstance(adj, Tensor) else adj  # type: ignore


def spmm(
    adj: object, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum", num_nodes: Optional[int] = None
) -> Tensor:
    ei = _edges(adj).long()
    if num_nodes is None:
        num_nodes = int(adj.num_nodes) if not isinstance(adj, Tensor) else x.size(0)  # type: ignore[attr-defined]
    msg = x[ei[0]]
    if edge_weight is not None:
        w = edge_weight
        while w.dim() < msg.dim():
            w = w.unsqueeze(-1)
        msg = msg * w
    return scatter(msg, ei[1], num_nodes, reduce)


def sddmm(adj: object, a: Tensor, b: Tensor, op: str = "dot") -> Tensor:
    ei = _edges(adj).long()
    at, bs = a[ei[1]], b[ei[0]]
    if op == "dot":
        return (at * bs).sum(-1)
    return at + bs if op == "add" else at * bs


def edge_softmax(adj: object, scores: Tensor, num_nodes: Optional[int] = None) -> Tensor:
    ei = _edges(adj).long()
    if num_nodes is None:
        if isinstance(adj, Tensor):
            num_nodes = int(ei.max()) + 1 if ei.numel() else 0
        else:
            num_nodes = int(adj.num_nodes)  # type: ignore[attr-defined]
    mx = scatter(scores, ei[1], num_nodes, "max")
    ex = (scores - mx[ei[1]]).exp()
    return ex / scatter(ex, ei[1], num_nodes, "sum")[ei[1]]
