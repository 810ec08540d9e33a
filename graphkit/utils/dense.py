"""Sparse batches to padded dense tensors: ``to_dense_batch`` (node features) and ``to_dense_adj`` (adjacency)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphkit.utils._checks import as_edge_index, check_edge_rows
from graphkit.utils.coalesce import reduce_rows

__all__ = ["to_dense_batch", "to_dense_adj"]


def _graph_layout(batch: Tensor, batch_size: Optional[int]) -> Tuple[int, Tensor, Tensor]:
    """``(B, nodes per graph [B], first node of each graph [B])`` for a sorted ``batch`` vector."""
    if batch.dim() != 1 or batch.is_floating_point() or batch.dtype == torch.bool:
        raise TypeError(f"batch must be a 1-D integer tensor, got {batch.dtype} {list(batch.shape)}")
    if batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (nodes of one graph contiguous, graphs in order)")
    if batch.numel() and int(batch.min()) < 0:
        raise ValueError(f"batch has negative graph id {int(batch.min())}")
    top = int(batch.max()) + 1 if batch.numel() else 1
    b = top if batch_size is None else int(batch_size)
    if top > b:
        raise ValueError(f"batch has graph id {top - 1} but batch_size is {b}")
    counts = torch.bincount(batch.long(), minlength=b)
    start = torch.cumsum(counts, 0) - counts
    return b, counts, start


def to_dense_batch(x: Tensor, batch: Optional[Tensor] = None, fill_value: float = 0.0,
                   max_num_nodes: Optional[int] = None, batch_size: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    r"""Pad each graph's node features to ``[B, N_max, *]`` and return ``(out, mask)``, ``mask [B, N_max]`` true
    at real nodes. A graph with more than ``max_num_nodes`` nodes keeps its first ``max_num_nodes``.

    Shapes:
        x ``(|V|, *)``, batch ``(|V|,)`` sorted -> ``(B, N_max, *)``, ``(B, N_max)``.

    >>> out, mask = to_dense_batch(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([0, 0, 1]))
    >>> out.squeeze(-1).tolist(), mask.tolist()
    ([[1.0, 2.0], [3.0, 0.0]], [[True, True], [True, False]])
    """
    if not isinstance(x, Tensor) or x.dim() == 0:
        raise TypeError(f"x must be a tensor with a node dimension, got {getattr(x, 'shape', type(x).__name__)}")
    if batch is None and max_num_nodes is None:
        return x.unsqueeze(0), torch.ones(1, x.size(0), dtype=torch.bool, device=x.device)
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    if batch.numel() != x.size(0):
        raise ValueError(f"batch has {batch.numel()} entries but x has {x.size(0)} rows")
    b, counts, start = _graph_layout(batch, batch_size)
    width = int(counts.max()) if max_num_nodes is None and counts.numel() else int(max_num_nodes or 0)
    pos = torch.arange(x.size(0), device=x.device) - start[batch]
    keep = pos < width
    slot = batch[keep] * width + pos[keep]
    out = x.new_full((b * width,) + tuple(x.shape[1:]), fill_value)
    out = out.index_put((slot,), x[keep])  # out of place: gradients flow back to x
    mask = torch.zeros(b * width, dtype=torch.bool, device=x.device)
    mask[slot] = True
    return out.view((b, width) + tuple(x.shape[1:])), mask.view(b, width)


def to_dense_adj(edge_index: Tensor, batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                 max_num_nodes: Optional[int] = None, batch_size: Optional[int] = None) -> Tensor:
    r"""The dense adjacency of every graph, ``[B, N_max, N_max]`` (or ``[B, N_max, N_max, *]`` with
    ``edge_attr``): ``A[b, i, j]`` sums the attributes (default 1) of the edges ``i -> j`` of graph ``b``.
    Edges touching a node beyond ``max_num_nodes`` are dropped.

    Shapes:
        edge_index ``(2, |E|)``, batch ``(|V|,)``, edge_attr ``(|E|, *)`` -> ``(B, N_max, N_max, *)``.

    >>> to_dense_adj(torch.tensor([[0, 1, 2], [1, 0, 2]]), torch.tensor([0, 0, 1])).tolist()
    [[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]]
    """
    edge_index = as_edge_index(edge_index)
    check_edge_rows("edge_attr", edge_attr, edge_index.size(1))
    if batch is None:
        n = int(edge_index.max()) + 1 if edge_index.numel() else 0
        batch = torch.zeros(n, dtype=torch.long, device=edge_index.device)
    elif edge_index.numel() and int(edge_index.max()) >= batch.numel():
        raise ValueError(f"edge_index has index {int(edge_index.max())} but batch has {batch.numel()} nodes")
    b, counts, start = _graph_layout(batch, batch_size)
    width = int(counts.max()) if max_num_nodes is None and counts.numel() else int(max_num_nodes or 0)
    src, dst = edge_index
    graph = batch[src]
    if not torch.equal(graph, batch[dst]):
        raise ValueError("edge_index has an edge between two different graphs of the batch")
    i, j = src - start[graph], dst - start[graph]
    keep = (i < width) & (j < width)
    if edge_attr is None:
        edge_attr = torch.ones(edge_index.size(1), device=edge_index.device)
    cell = (graph * width + i) * width + j
    dense = reduce_rows(edge_attr[keep], cell[keep], b * width * width, "sum")
    return dense.view((b, width, width) + tuple(edge_attr.shape[1:]))
