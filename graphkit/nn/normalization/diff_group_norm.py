r"""DiffGroupNorm (Zhou et al., "Towards Deeper Graph Neural Networks with Differentiable Group
Normalization")."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DiffGroupNorm"]


class DiffGroupNorm(torch.nn.Module):
    r"""Softly cluster the nodes into ``groups`` and batch-normalise each group:

    .. math::
        \mathbf{x}^{\prime}_i = \mathbf{x}_i + \lambda \sum_{j=1}^{G} \mathrm{BN}_j\big(\mathbf{S}_{ij}\,
        \mathbf{x}_i\big), \qquad \mathbf{S} = \mathrm{softmax}(\mathbf{X} \mathbf{W})

    Same arguments and parameters (``lin``, ``norm``) as PyG's ``DiffGroupNorm``.

    Shapes:
        x ``(|V|, F)`` -> ``(|V|, F)``.

    >>> DiffGroupNorm(4, groups=3)(torch.randn(6, 4)).shape
    torch.Size([6, 4])
    """

    def __init__(self, in_channels: int, groups: int, lamda: float = 0.01, eps: float = 1e-5,
                 momentum: float = 0.1, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.in_channels, self.groups, self.lamda = in_channels, groups, lamda
        self.lin = torch.nn.Linear(in_channels, groups, bias=False)
        self.norm = torch.nn.BatchNorm1d(groups * in_channels, eps, momentum, affine, track_running_stats)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        g, f = self.groups, self.in_channels
        s = self.lin(x).softmax(dim=-1)
        out = (s.unsqueeze(-1) * x.unsqueeze(-2)).reshape(-1, g * f)
        return x + self.lamda * self.norm(out).view(-1, g, f).sum(dim=-2)

    @staticmethod
    def group_distance_ratio(x: Tensor, y: Tensor, eps: float = 1e-5) -> float:
        r"""The ratio of mean inter-class to mean intra-class distance of the representations ``x`` with labels
        ``y`` (the paper's measure of oversmoothing; larger is better):

        .. math::
            R = \frac{\frac{1}{(C-1)^2} \sum_{i} \overline{\|\mathbf{x}_{i\cdot} - \mathbf{x}_{\neg i\cdot}\|}}
            {\frac{1}{C} \sum_{i} \overline{\|\mathbf{x}_{i\cdot} - \mathbf{x}_{i\cdot}\|} + \epsilon}
        """
        num_classes = int(y.max()) + 1
        numerator, denominator = 0.0, 0.0
        for i in range(num_classes):
            mask = y == i
            dist = torch.cdist(x[mask].unsqueeze(0), x[~mask].unsqueeze(0))
            numerator += (1 / dist.numel()) * float(dist.sum()) if dist.numel() else 0.0
            dist = torch.cdist(x[mask].unsqueeze(0), x[mask].unsqueeze(0))
            denominator += (1 / dist.numel()) * float(dist.sum()) if dist.numel() else 0.0
        numerator *= 1 / (num_classes - 1) ** 2 if num_classes > 1 else 0.0
        denominator *= 1 / num_classes
        return numerator / (denominator + eps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, groups={self.groups})"
