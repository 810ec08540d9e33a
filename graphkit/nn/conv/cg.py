r"""CGConv (Xie & Grossman, "Crystal Graph Convolutional Neural Networks")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.message_passing import MessagePassing

__all__ = ["CGConv"]


class CGConv(MessagePassing):
    r"""Crystal graph convolution:

    .. math::
        \mathbf{x}^{\prime}_i = \mathbf{x}_i + \bigoplus_{j \in \mathcal{N}(i)} \sigma \left( \mathbf{z}_{i,j}
        \mathbf{W}_f + \mathbf{b}_f \right) \odot g \left( \mathbf{z}_{i,j} \mathbf{W}_s + \mathbf{b}_s  \right),
        \qquad \mathbf{z}_{i,j} = [ \mathbf{x}_i, \mathbf{x}_j, \mathbf{e}_{i,j} ]

    (:math:`\sigma` the sigmoid, :math:`g` softplus; optional batch norm of the aggregate). Same arguments and
    parameters (``lin_f``, ``lin_s``, ``bn``) as PyG's ``CGConv``; bipartite inputs are accepted.

    Shapes:
        x ``(|V|, F)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_attr ``(|E|, D)`` -> ``(|V_t|, F_t)``.

    >>> CGConv(3, dim=2)(torch.randn(5, 3), torch.tensor([[0, 1], [1, 2]]), torch.randn(2, 2)).shape
    torch.Size([5, 3])
    """

    def __init__(self, channels: Union[int, Tuple[int, int]], dim: int = 0, aggr: str = "add",
                 batch_norm: bool = False, bias: bool = True, **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.channels, self.dim, self.batch_norm = channels, dim, batch_norm
        c_src, c_dst = pair_channels(channels)
        self.lin_f = torch.nn.Linear(c_src + c_dst + dim, c_dst, bias=bias)
        self.lin_s = torch.nn.Linear(c_src + c_dst + dim, c_dst, bias=bias)
        self.bn = torch.nn.BatchNorm1d(c_dst) if batch_norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_f.reset_parameters()
        self.lin_s.reset_parameters()
        if self.bn is not None:
            self.bn.reset_parameters()

    def forward(self, x: Any, adj: Any, edge_attr: Optional[Tensor] = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if x_dst is None:
            raise ValueError("CGConv needs target features (its output adds x_dst)")
        if self.dim and edge_attr is None:
            raise ValueError(f"CGConv was built with dim={self.dim} edge features but got no edge_attr")
        out = self.propagate(adj, x=(x_src, x_dst), edge_attr=edge_attr)
        out = out if self.bn is None else self.bn(out)
        return out + x_dst

    def message(self, x_i: Tensor, x_j: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        z = torch.cat([x_i, x_j] if edge_attr is None else [x_i, x_j, edge_attr], dim=-1)
        return self.lin_f(z).sigmoid() * F.softplus(self.lin_s(z))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, dim={self.dim})"
