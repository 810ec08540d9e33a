"""``LayerNorm``: PyG's graph-wise layer norm (``mode="graph"``)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphkit import ops

__all__ = ["LayerNorm"]


class LayerNorm(torch.nn.Module):
    r"""PyG's graph-wise layer norm: each graph's nodes and channels together,

    .. math:: y = \frac{x - \mu_g}{\sqrt{\sigma_g^2 + \epsilon}} \odot \gamma + \beta, \quad
              \mu_g, \sigma_g^2 \text{ over the } N_g \times C \text{ entries of graph } g

    (without ``batch``, all nodes form one graph).

    Shapes: x ``(N, C)``, batch ``(N,)`` -> ``(N, C)``; ``batch_size``: the number of graphs (else
    ``batch.max() + 1``).
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.in_channels, self.eps = in_channels, eps
        self.weight = torch.nn.Parameter(torch.ones(in_channels)) if affine else None
        self.bias = torch.nn.Parameter(torch.zeros(in_channels)) if affine else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            torch.nn.init.ones_(self.weight)
            torch.nn.init.zeros_(self.bias)  # type: ignore[arg-type]

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        if batch is None:
            x = x - x.mean()
            out = x / (x.std(unbiased=False) + self.eps)
        else:
            b = batch_size if batch_size is not None else (int(batch.max()) + 1 if batch.numel() else 0)
            norm = torch.bincount(batch, minlength=b).clamp(min=1).to(x.dtype).mul_(x.size(-1)).view(-1, 1)
            mean = ops.scatter(x, batch, b, reduce="sum").sum(dim=-1, keepdim=True) / norm
            x = x - mean.index_select(0, batch)
            var = ops.scatter(x * x, batch, b, reduce="sum").sum(dim=-1, keepdim=True) / norm
            out = x / (var + self.eps).sqrt().index_select(0, batch)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out
