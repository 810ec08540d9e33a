r"""ResGatedGraphConv (Bresson & Laurent, "Residual Gated Graph ConvNets")."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["ResGatedGraphConv"]


class ResGatedGraphConv(MessagePassing):
    r"""Edge-gated convolution:

    .. math::
        \mathbf{x}'_i = \mathbf{W}_1 \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)} \eta_{i,j} \odot \mathbf{W}_2
        \mathbf{x}_j, \qquad \eta_{i,j} = \sigma(\mathbf{W}_3 \mathbf{x}_i + \mathbf{W}_4 \mathbf{x}_j)

    (with ``edge_dim``, the edge features are concatenated to the inputs of :math:`\mathbf{W}_{2,3,4}`).
    Same arguments and parameters (``lin_key``, ``lin_query``, ``lin_value``, ``lin_skip``, ``bias``) as PyG's
    ``ResGatedGraphConv``; bipartite inputs and lazy ``in_channels=-1`` are accepted.

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_attr ``(|E|, D)`` optional
        -> ``(|V_t|, F_out)``.

    >>> ResGatedGraphConv(3, 4)(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int,
                 act: Optional[Callable] = torch.nn.Sigmoid(), edge_dim: Optional[int] = None,
                 root_weight: bool = True, bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.act = in_channels, out_channels, act
        self.edge_dim, self.root_weight = edge_dim, root_weight
        in_src, in_dst = pair_channels(in_channels)
        extra = edge_dim or 0
        grow = lambda c: c + extra if c > 0 else -1  # noqa: E731  (lazy stays lazy)
        self.lin_key = Linear(grow(in_dst), out_channels)
        self.lin_query = Linear(grow(in_src), out_channels)
        self.lin_value = Linear(grow(in_src), out_channels)
        self.lin_skip = Linear(in_dst, out_channels, bias=False) if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_skip):
            if lin is not None:
                lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Any, adj: Any, edge_attr: Optional[Tensor] = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if self.edge_dim is None:
            k, q, v = self.lin_key(x_dst), self.lin_query(x_src), self.lin_value(x_src)
        else:
            if edge_attr is None:
                raise ValueError(f"ResGatedGraphConv was built with edge_dim={self.edge_dim} but got no edge_attr")
            k, q, v = x_dst, x_src, x_src
        out = self.propagate(adj, k=(None, k), q=(q, None), v=(v, None), edge_attr=edge_attr)
        if self.lin_skip is not None:
            out = out + self.lin_skip(x_dst)
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(self, k_i: Tensor, q_j: Tensor, v_j: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        if self.edge_dim is not None and edge_attr is not None:
            k_i = self.lin_key(torch.cat([k_i, edge_attr], dim=-1))
            q_j = self.lin_query(torch.cat([q_j, edge_attr], dim=-1))
            v_j = self.lin_value(torch.cat([v_j, edge_attr], dim=-1))
        gate = k_i + q_j
        return (self.act(gate) if self.act is not None else gate) * v_j

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
