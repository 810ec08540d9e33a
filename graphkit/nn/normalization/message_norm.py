r"""MessageNorm (Li et al., "DeeperGCN: All You Need to Train Deeper GCNs")."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["MessageNorm"]


class MessageNorm(torch.nn.Module):
    r"""Rescale the aggregated message to the norm of the node's own features:

    .. math::
        \mathbf{x}_i' = \mathrm{MLP}\Big(\mathbf{x}_i + s \cdot \|\mathbf{x}_i\|_p \cdot
        \frac{\mathbf{m}_i}{\|\mathbf{m}_i\|_p}\Big)

    (this module returns the scaled message; the layer adds and applies the MLP). ``learn_scale`` makes
    :math:`s` trainable. Same parameter (``scale``) as PyG's ``MessageNorm``.

    Shapes:
        x ``(|V|, F)``, msg ``(|V|, F)`` -> ``(|V|, F)``.

    >>> MessageNorm()(torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])).tolist()
    [[5.0, 0.0]]
    """

    def __init__(self, learn_scale: bool = False) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.empty(1), requires_grad=learn_scale)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.scale.fill_(1.0)

    def forward(self, x: Tensor, msg: Tensor, p: float = 2.0) -> Tensor:
        msg = F.normalize(msg, p=p, dim=-1)
        return msg * x.norm(p=p, dim=-1, keepdim=True) * self.scale

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn_scale={self.scale.requires_grad})"
