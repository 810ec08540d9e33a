r"""GatedGraphConv (Li et al., "Gated Graph Sequence Neural Networks")."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.message_passing import MessagePassing

__all__ = ["GatedGraphConv"]


class GatedGraphConv(MessagePassing):
    r"""``num_layers`` rounds of propagation with a shared GRU:

    .. math::
        \mathbf{h}_i^{(0)} = \mathbf{x}_i \, \Vert \, \mathbf{0}, \qquad
        \mathbf{m}_i^{(l+1)} = \bigoplus_{j \in \mathcal{N}(i)} e_{j,i} \, \mathbf{\Theta}_l \mathbf{h}_j^{(l)},
        \qquad \mathbf{h}_i^{(l+1)} = \textrm{GRU}(\mathbf{m}_i^{(l+1)}, \mathbf{h}_i^{(l)})

    Same arguments and parameters (``weight``, ``rnn.*``) as PyG's ``GatedGraphConv``; each round's aggregation
    is one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)`` with ``F_in <= out_channels``, adj, edge_weight ``(|E|)`` -> ``(|V|, out_channels)``.

    >>> GatedGraphConv(4, num_layers=2)(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 4])
    """

    fused_weight = "edge_weight"

    def __init__(self, out_channels: int, num_layers: int, aggr: str = "add", bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.out_channels, self.num_layers = out_channels, num_layers
        self.weight = torch.nn.Parameter(torch.empty(num_layers, out_channels, out_channels))
        self.rnn = torch.nn.GRUCell(out_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        bound = 1.0 / math.sqrt(self.out_channels)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
        self.rnn.reset_parameters()

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        if x.size(-1) > self.out_channels:
            raise ValueError(f"GatedGraphConv: x has {x.size(-1)} channels, more than out_channels "
                             f"({self.out_channels})")
        if x.size(-1) < self.out_channels:
            x = torch.cat([x, x.new_zeros(x.size(0), self.out_channels - x.size(-1))], dim=1)
        adj_ = self.adjacency(adj, x=x)
        for i in range(self.num_layers):
            m = self.propagate(adj_, x=x @ self.weight[i], edge_weight=edge_weight)
            x = self.rnn(m, x)
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.out_channels}, num_layers={self.num_layers})"
