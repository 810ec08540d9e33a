r"""GCN2Conv (Chen et al., "Simple and Deep Graph Convolutional Networks", GCNII)."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.gcn import Normalized, gcn_norm, propagate_with_loops
from graphkit.nn.inits import glorot
from graphkit.nn.message_passing import MessagePassing

__all__ = ["GCN2Conv"]


class GCN2Conv(MessagePassing):
    r"""Graph convolution with initial residual and identity mapping:

    .. math::
        \mathbf{X}' = \Big((1 - \alpha) \hat{\mathbf{P}} \mathbf{X} + \alpha \mathbf{X}^{(0)}\Big)
        \Big((1 - \beta) \mathbf{I} + \beta \mathbf{\Theta}\Big)

    with :math:`\hat{\mathbf{P}} = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}} \hat{\mathbf{D}}^{-1/2}`,
    :math:`\hat{\mathbf{A}} = \mathbf{A} + \mathbf{I}`, and :math:`\beta = \log(\theta / \ell + 1)` (1 unless
    ``theta`` and ``layer`` are given). With ``shared_weights=False`` the two terms get their own
    :math:`\mathbf{\Theta}_1, \mathbf{\Theta}_2`. Same arguments and parameters (``weight1``, ``weight2``) as PyG's
    ``GCN2Conv``; propagation is the fused ``spmm`` with the self-loops as a separate diagonal term.

    Shapes:
        x ``(|V|, F)``, x_0 ``(|V|, F)``, adj, edge_weight ``(|E|)`` -> ``(|V|, F)``.

    >>> conv = GCN2Conv(4, alpha=0.1, theta=0.5, layer=1)
    >>> x = torch.randn(3, 4)
    >>> conv(x, x, torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 4])
    """

    fused_weight = "edge_weight"

    def __init__(self, channels: int, alpha: float, theta: Optional[float] = None, layer: Optional[int] = None,
                 shared_weights: bool = True, cached: bool = False, add_self_loops: bool = True,
                 normalize: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.channels, self.alpha = channels, float(alpha)
        self.beta = 1.0 if theta is None or layer is None else math.log(theta / layer + 1)
        self.cached, self.normalize, self.add_self_loops = cached, normalize, add_self_loops
        self._cached_norm: Optional[Normalized] = None
        self.weight1 = torch.nn.Parameter(torch.empty(channels, channels))
        self.weight2 = None if shared_weights else torch.nn.Parameter(torch.empty(channels, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.weight1)
        glorot(self.weight2)
        self._cached_norm = None

    def forward(self, x: Tensor, x_0: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        if self.cached and self._cached_norm is not None:
            adj_, w, loop = self._cached_norm
        else:
            adj_ = self.adjacency(adj, x=x)
            if self.normalize:
                adj_, w, loop = gcn_norm(adj_, edge_weight, False, self.add_self_loops, x.dtype)
            else:
                w, loop = (edge_weight if edge_weight is not None else adj_.value), None
            if self.cached:
                self._cached_norm = (adj_, w, loop)
        h = propagate_with_loops(self, adj_, x, w, loop) * (1.0 - self.alpha)
        x_0 = self.alpha * x_0[: h.size(0)]
        if self.weight2 is None:
            out = h + x_0
            return torch.addmm(out, out, self.weight1, beta=1.0 - self.beta, alpha=self.beta)
        return (torch.addmm(h, h, self.weight1, beta=1.0 - self.beta, alpha=self.beta)
                + torch.addmm(x_0, x_0, self.weight2, beta=1.0 - self.beta, alpha=self.beta))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, alpha={self.alpha}, beta={self.beta})"
