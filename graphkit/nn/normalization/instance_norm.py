r"""InstanceNorm for graphs (Ulyanov et al., "Instance Normalization"), one instance per graph."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.normalization._segments import graph_index, graph_sum

__all__ = ["InstanceNorm"]


class InstanceNorm(torch.nn.InstanceNorm1d):
    r"""Normalise every graph's node features by that graph's own statistics:

    .. math::
        \mathbf{x}^{\prime}_i = \frac{\mathbf{x}_i - \textrm{E}[\mathbf{x}]}{\sqrt{\textrm{Var}[\mathbf{x}] +
        \epsilon}} \odot \gamma + \beta

    (biased variance; with ``track_running_stats``, running averages of the per-graph means and unbiased
    variances are kept and used in eval mode). Same arguments, parameters and buffers as PyG's
    ``InstanceNorm`` (a ``torch.nn.InstanceNorm1d``).

    Shapes:
        x ``(|V|, F)``, batch ``(|V|)`` optional -> ``(|V|, F)``.

    >>> InstanceNorm(1)(torch.tensor([[1.0], [3.0], [5.0], [7.0]]), torch.tensor([0, 0, 1, 1])).view(-1).round()
    tensor([-1.,  1., -1.,  1.])
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False) -> None:
        super().__init__(in_channels, eps, momentum, affine, track_running_stats)
        self.in_channels = in_channels

    def forward(self, x: Tensor, batch: Optional[Tensor] = None,  # type: ignore[override]
                batch_size: Optional[int] = None) -> Tensor:
        if batch is None:
            out = F.instance_norm(x.t().unsqueeze(0), self.running_mean, self.running_var, self.weight, self.bias,
                                  self.training or not self.track_running_stats, self.momentum, self.eps)
            return out.squeeze(0).t()
        batch, size = graph_index(x, batch, batch_size)
        if self.training or not self.track_running_stats:
            count = torch.bincount(batch, minlength=size).to(x.dtype).clamp(min=1).view(-1, 1)
            mean = graph_sum(x, batch, size) / count
            x = x - mean.index_select(0, batch)
            sq = graph_sum(x * x, batch, size)
            var = sq / count
            if self.running_mean is not None and self.running_var is not None:
                unbiased = sq / (count - 1).clamp(min=1)
                with torch.no_grad():
                    m = self.momentum if self.momentum is not None else 0.1
                    self.running_mean.mul_(1 - m).add_(m * mean.mean(0))
                    self.running_var.mul_(1 - m).add_(m * unbiased.mean(0))
        else:
            x = x - self.running_mean.view(1, -1)
            var = self.running_var.view(1, -1).expand(size, -1)
        out = x / (var + self.eps).sqrt().index_select(0, batch)
        if self.weight is not None and self.bias is not None:
            out = out * self.weight.view(1, -1) + self.bias.view(1, -1)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_features})"
