"""Per-graph statistics for the graph norms, on graphkit's scatter kernel."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphkit import ops


def graph_index(x: Tensor, batch: Optional[Tensor], batch_size: Optional[int]) -> Tuple[Tensor, int]:
    """``(batch, number of graphs)``; without ``batch`` every node is in graph 0."""
    if batch is None:
        return torch.zeros(x.size(0), dtype=torch.long, device=x.device), 1
    if batch.dim() != 1 or batch.numel() != x.size(0):
        raise ValueError(f"batch must have shape [{x.size(0)}] (one graph id per node), got {list(batch.shape)}")
    size = (int(batch.max()) + 1 if batch.numel() else 0) if batch_size is None else int(batch_size)
    return batch, size


def graph_mean(x: Tensor, batch: Tensor, size: int) -> Tensor:
    """Mean of the rows of every graph ``[B, *]`` (0 for an empty graph)."""
    return ops.scatter(x, batch, dim_size=size, reduce="mean")


def graph_sum(x: Tensor, batch: Tensor, size: int) -> Tensor:
    return ops.scatter(x, batch, dim_size=size, reduce="sum")
