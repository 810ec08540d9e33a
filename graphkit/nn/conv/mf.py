r"""MFConv (Duvenaud et al., "Convolutional Networks on Graphs for Learning Molecular Fingerprints")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.linear import Linear

__all__ = ["MFConv"]


class MFConv(MessagePassing):
    r"""Degree-specific weights, the layer of neural (circular) fingerprints:

    .. math::
        \mathbf{x}'_i = \mathbf{W}^{(\deg(i))}_1 \mathbf{x}_i + \mathbf{W}^{(\deg(i))}_2
        \sum_{j \in \mathcal{N}(i)} \mathbf{x}_j

    with degrees clamped at ``max_degree``. Parameters ``lins_l`` (with bias, on the sum) and ``lins_r`` as PyG's.
    The neighbour sum is the fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)`` or a bipartite pair -> ``(|V_t|, F_out)``.
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, max_degree: int = 10,
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.max_degree = in_channels, out_channels, max_degree
        c_src, c_dst = pair_channels(in_channels)
        self.lins_l = torch.nn.ModuleList([Linear(c_src, out_channels, bias=bias)
                                           for _ in range(max_degree + 1)])
        self.lins_r = torch.nn.ModuleList([Linear(c_dst, out_channels, bias=False)
                                           for _ in range(max_degree + 1)])

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in list(self.lins_l) + list(self.lins_r):
            lin.reset_parameters()

    def forward(self, x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], adj: Any, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        adj_ = self.adjacency(adj, size, x=(x_src, x_dst))
        deg = adj_.degree().clamp(max=self.max_degree)
        h = self.propagate(adj_, x=(x_src, x_dst))
        # One weight pair per degree: a loop over the (at most max_degree + 1) degree classes.
        out = h.new_zeros(h.size(0), self.out_channels)
        for d, (lin_l, lin_r) in enumerate(zip(self.lins_l, self.lins_r)):
            idx = (deg == d).nonzero().view(-1)
            r = lin_l(h.index_select(0, idx))
            if x_dst is not None:
                r = r + lin_r(x_dst.index_select(0, idx))
            out = out.index_copy(0, idx, r)
        return out
