r"""PairNorm (Zhao & Akoglu, "PairNorm: Tackling Oversmoothing in GNNs")."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphkit.nn.normalization._segments import graph_index, graph_mean

__all__ = ["PairNorm"]


class PairNorm(torch.nn.Module):
    r"""Centre every graph's node features and rescale them to a constant total pairwise distance:

    .. math::
        \mathbf{x}_i^c = \mathbf{x}_i - \frac{1}{n} \sum_{j} \mathbf{x}_j, \qquad
        \mathbf{x}^{\prime}_i = s \cdot \frac{\mathbf{x}_i^c}{\sqrt{\epsilon + \frac{1}{n} \sum_j
        \| \mathbf{x}^c_j \|^2_2}}

    (``scale_individually``: each row by its own norm, :math:`s\, \mathbf{x}_i^c / (\epsilon +
    \|\mathbf{x}_i^c\|_2)`). No parameters, as PyG's.

    Shapes:
        x ``(|V|, F)``, batch ``(|V|)`` optional -> ``(|V|, F)``.

    >>> PairNorm()(torch.tensor([[1.0, 0.0], [3.0, 0.0]])).round().tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """

    def __init__(self, scale: float = 1.0, scale_individually: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale, self.scale_individually, self.eps = scale, scale_individually, eps

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        if batch is None:
            x = x - x.mean(dim=0, keepdim=True)
            if self.scale_individually:
                return self.scale * x / (self.eps + x.norm(2, -1, keepdim=True))
            return self.scale * x / (self.eps + x.pow(2).sum(-1).mean()).sqrt()
        batch, size = graph_index(x, batch, batch_size)
        x = x - graph_mean(x, batch, size).index_select(0, batch)
        if self.scale_individually:
            return self.scale * x / (self.eps + x.norm(2, -1, keepdim=True))
        sq = graph_mean(x.pow(2).sum(-1, keepdim=True), batch, size).index_select(0, batch)
        return self.scale * x / torch.sqrt(self.eps + sq)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
