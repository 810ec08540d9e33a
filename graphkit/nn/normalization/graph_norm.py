r"""GraphNorm (Cai et al., "GraphNorm: A Principled Approach to Accelerating Graph Neural Network Training")."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphkit.nn.normalization._segments import graph_index, graph_mean

__all__ = ["GraphNorm"]


class GraphNorm(torch.nn.Module):
    r"""Normalise every graph's node features with a learnable share of the mean removed:

    .. math::
        \mathbf{x}^{\prime}_i = \frac{\mathbf{x}_i - \boldsymbol{\alpha} \odot \textrm{E}[\mathbf{x}]}
        {\sqrt{\textrm{Var}[\mathbf{x} - \boldsymbol{\alpha} \odot \textrm{E}[\mathbf{x}]] + \epsilon}} \odot
        \boldsymbol{\gamma} + \boldsymbol{\beta}

    Same parameters (``weight`` :math:`\gamma`, ``bias`` :math:`\beta`, ``mean_scale`` :math:`\alpha`) as PyG's.

    Shapes:
        x ``(|V|, F)``, batch ``(|V|)`` optional -> ``(|V|, F)``.

    >>> out = GraphNorm(2)(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    >>> [round(v, 4) for v in out[:, 0].tolist()]
    [-1.0, 1.0]
    """

    def __init__(self, in_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.in_channels, self.eps = in_channels, eps
        self.weight = torch.nn.Parameter(torch.empty(in_channels))
        self.bias = torch.nn.Parameter(torch.empty(in_channels))
        self.mean_scale = torch.nn.Parameter(torch.empty(in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()
            self.mean_scale.fill_(1.0)

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        batch, size = graph_index(x, batch, batch_size)
        out = x - graph_mean(x, batch, size).index_select(0, batch) * self.mean_scale
        var = graph_mean(out * out, batch, size)
        return self.weight * out / (var + self.eps).sqrt().index_select(0, batch) + self.bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels})"
