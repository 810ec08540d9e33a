r"""SGConv (Wu et al., "Simplifying Graph Convolutional Networks")."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.gcn import gcn_norm, propagate_with_loops
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.linear import Linear

__all__ = ["SGConv"]


class SGConv(MessagePassing):
    r"""K propagation steps with the GCN normalisation, then one linear map:

    .. math:: \mathbf{X}' = \left(\hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}} \hat{\mathbf{D}}^{-1/2}\right)^K
        \mathbf{X} \mathbf{\Theta}

    With ``cached`` the propagated features :math:`\hat A^K X` are kept (transductive use). Parameters ``lin``
    as PyG's. Each step is one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)``, edge_weight ``(|E|)`` optional -> ``(|V|, F_out)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, K: int = 1, cached: bool = False,
                 add_self_loops: bool = True, bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.K = in_channels, out_channels, K
        self.cached, self.add_self_loops = cached, add_self_loops
        self._cached_x: Optional[Tensor] = None
        self.lin = Linear(in_channels, out_channels, bias=bias)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        self._cached_x = None

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        cache = self._cached_x
        if cache is None:
            adj_, w, loop = gcn_norm(self.adjacency(adj, x=x), edge_weight, False, self.add_self_loops, x.dtype)
            for _ in range(self.K):
                x = propagate_with_loops(self, adj_, x, w, loop)
            if self.cached:
                self._cached_x = x
        else:
            x = cache.detach()
        return self.lin(x)

    def __repr__(self) -> str:
        return f"SGConv({self.in_channels}, {self.out_channels}, K={self.K})"
