r"""MixHopConv (Abu-El-Haija et al., "MixHop: Higher-Order Graph Convolutional Architectures via Sparsified
Neighborhood Mixing")."""
from __future__ import annotations

from typing import Any, List, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.gcn import gcn_norm, propagate_with_loops
from graphkit.nn.inits import zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["MixHopConv"]


class MixHopConv(MessagePassing):
    r"""Concatenated powers of the normalised adjacency:

    .. math::
        \mathbf{X}^{\prime} = \Big\Vert_{p \in P} \left( \mathbf{\hat{D}}^{-1/2} \mathbf{\hat{A}}
        \mathbf{\hat{D}}^{-1/2} \right)^p \mathbf{X} \mathbf{\Theta}_p, \qquad \mathbf{\hat{A}} = \mathbf{A} +
        \mathbf{I}

    Same arguments and parameters (``lins.p.weight`` for each ``p`` in ``powers``, ``bias``) as PyG's
    ``MixHopConv``; every power is one fused ``spmm`` with the self-loops as a diagonal term.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_weight ``(|E|)`` -> ``(|V|, |P| F_out)``.

    >>> MixHopConv(3, 4)(torch.randn(5, 3), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([5, 12])
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, powers: Optional[List[int]] = None,
                 add_self_loops: bool = True, bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        powers = [0, 1, 2] if powers is None else list(powers)
        if not powers or min(powers) < 0:
            raise ValueError(f"powers must be a non-empty list of non-negative ints, got {powers}")
        self.in_channels, self.out_channels, self.powers = in_channels, out_channels, powers
        self.add_self_loops = add_self_loops
        self.lins = torch.nn.ModuleList([
            Linear(in_channels, out_channels, bias=False) if p in powers else torch.nn.Identity()
            for p in range(max(powers) + 1)])
        self.bias = torch.nn.Parameter(torch.empty(len(powers) * out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.lins:
            if isinstance(lin, Linear):
                lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        adj_ = self.adjacency(adj, x=x)
        adj_, w, loop = gcn_norm(adj_, edge_weight, False, self.add_self_loops, x.dtype)
        outs = [self.lins[0](x)]
        for lin in self.lins[1:]:
            x = propagate_with_loops(self, adj_, x, w, loop)
            outs.append(lin(x))
        out = torch.cat([outs[p] for p in self.powers], dim=-1)
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, powers={self.powers})"
