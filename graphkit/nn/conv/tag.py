r"""TAGConv (Du et al., "Topology Adaptive Graph Convolutional Networks")."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.gcn import gcn_norm
from graphkit.nn.inits import zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["TAGConv"]


class TAGConv(MessagePassing):
    r"""A polynomial filter of the normalised adjacency:

    .. math::
        \mathbf{X}' = \sum_{k=0}^{K} \left(\mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}\right)^k \mathbf{X}
        \mathbf{W}_k + \mathbf{b}

    (no self-loops; ``normalize=False`` uses :math:`\mathbf{A}` with the given edge weights). Same arguments and
    parameters (``lins.k.weight``, ``bias``) as PyG's ``TAGConv``; every power is one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_weight ``(|E|)`` -> ``(|V|, F_out)``.

    >>> TAGConv(3, 2, K=2)(torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 2])
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, K: int = 3, bias: bool = True, normalize: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if K < 0:
            raise ValueError(f"K must be non-negative, got {K}")
        self.in_channels, self.out_channels, self.K, self.normalize = in_channels, out_channels, K, normalize
        self.lins = torch.nn.ModuleList([Linear(in_channels, out_channels, bias=False) for _ in range(K + 1)])
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.lins:
            lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        adj_ = self.adjacency(adj, x=x)
        if self.normalize:
            adj_, w, _ = gcn_norm(adj_, edge_weight, False, False, x.dtype)
        else:
            w = edge_weight
        out = self.lins[0](x)
        for lin in self.lins[1:]:
            x = self.propagate(adj_, x=x, edge_weight=w)
            out = out + lin(x)
        if self.bias is not None:
            out = out + self.bias
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"
