"""``BatchNorm``: ``torch.nn.BatchNorm1d`` over nodes, with PyG's parameter layout (``.module``)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["BatchNorm"]


class BatchNorm(torch.nn.Module):
    """``BatchNorm1d`` over nodes under the name PyG uses (``module``), so state_dicts line up.

    Shapes: x ``(N, C)`` -> ``(N, C)`` (``batch`` is accepted and ignored: statistics run over all nodes).
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.module = torch.nn.BatchNorm1d(in_channels, eps, momentum, affine, track_running_stats)

    def reset_parameters(self) -> None:
        self.module.reset_parameters()

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        return self.module(x)
