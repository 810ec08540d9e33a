r"""ClusterGCNConv (Chiang et al., "Cluster-GCN: An Efficient Algorithm for Training Deep and Large Graph
Convolutional Networks")."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.gcn import propagate_with_loops
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["ClusterGCNConv"]


class ClusterGCNConv(MessagePassing):
    r"""Cluster-GCN's layer with diagonal enhancement:

    .. math::
        \mathbf{X}^{\prime} = \left( \mathbf{\hat{A}} + \lambda \cdot \textrm{diag}(\mathbf{\hat{A}}) \right)
        \mathbf{X} \mathbf{W}_1 + \mathbf{X} \mathbf{W}_2, \qquad
        \mathbf{\hat{A}} = {(\mathbf{D} + \mathbf{I})}^{-1}(\mathbf{A} + \mathbf{I})

    (existing self-loops are replaced by the added ones; without ``add_self_loops`` the graph's own self-loops
    play their part). Same arguments and parameters (``lin_out``, ``lin_root``) as PyG's ``ClusterGCNConv``;
    the added self-loops are a diagonal term next to one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)``, adj -> ``(|V|, F_out)``.

    >>> ClusterGCNConv(3, 4, diag_lambda=0.5)(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 4])
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, diag_lambda: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.diag_lambda, self.add_self_loops = diag_lambda, add_self_loops
        self.lin_out = Linear(in_channels, out_channels, bias=bias, weight_initializer="glorot")
        self.lin_root = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_out.reset_parameters()
        self.lin_root.reset_parameters()

    def forward(self, x: Tensor, adj: Any) -> Tensor:
        adj_ = self.adjacency(adj, x=x)
        src, dst = adj_.src, adj_.dst
        n = adj_.num_dst
        is_loop = src == dst
        # PyG counts degrees in the default dtype (float32) whatever x is; so do we, to give the same weights.
        dtype = torch.get_default_dtype()
        if self.add_self_loops:
            counted = (~is_loop).to(dtype)
            deg = torch.zeros(n, dtype=dtype, device=x.device).index_add_(0, dst, counted) + 1.0
            deg_inv = 1.0 / deg
            w = deg_inv[dst] * counted
            loop: Optional[Tensor] = (deg_inv + self.diag_lambda * deg_inv).to(x.dtype)
        else:
            deg = torch.bincount(dst, minlength=n).to(dtype).clamp(min=1.0)
            deg_inv = 1.0 / deg
            w = deg_inv[dst] + is_loop.to(dtype) * (self.diag_lambda * deg_inv[dst])
            loop = None
        out = propagate_with_loops(self, adj_, x, w.to(x.dtype), loop)
        return self.lin_out(out) + self.lin_root(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, diag_lambda={self.diag_lambda})"
