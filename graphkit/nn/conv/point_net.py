r"""PointNetConv (Qi et al., "PointNet: Deep Learning on Point Sets" and "PointNet++")."""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor

from graphkit.nn.conv._loops import with_fresh_self_loops
from graphkit.nn.inits import reset
from graphkit.nn.message_passing import MessagePassing

__all__ = ["PointNetConv"]


class PointNetConv(MessagePassing):
    r"""The PointNet set layer on local neighbourhoods:

    .. math::
        \mathbf{x}^{\prime}_i = \gamma_{\mathbf{\Theta}} \left( \max_{j \in \mathcal{N}(i) \cup \{ i \}}
        h_{\mathbf{\Theta}} ( \mathbf{x}_j \, \Vert \, \mathbf{p}_j - \mathbf{p}_i) \right)

    with :math:`h` = ``local_nn`` and :math:`\gamma` = ``global_nn`` (either may be ``None``); the graph's
    self-loops are replaced by one per point. Same arguments and parameters as PyG's ``PointNetConv``;
    bipartite inputs (``x`` and ``pos`` pairs) are accepted.

    Shapes:
        x ``(|V|, F)`` or ``None``, pos ``(|V|, 3)`` (or pairs), adj -> ``(|V_t|, F_out)``.

    >>> conv = PointNetConv(torch.nn.Linear(2 + 3, 8))
    >>> conv(torch.randn(4, 2), torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 8])
    """

    def __init__(self, local_nn: Optional[Callable] = None, global_nn: Optional[Callable] = None,
                 add_self_loops: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "max")
        super().__init__(**kwargs)
        self.local_nn, self.global_nn, self.add_self_loops = local_nn, global_nn, add_self_loops
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.local_nn)
        reset(self.global_nn)

    def forward(self, x: Any, pos: Any, adj: Any) -> Tensor:
        x_pair = x if isinstance(x, (tuple, list)) else (x, None)
        pos_pair = pos if isinstance(pos, (tuple, list)) else (pos, pos)
        adj_ = self.adjacency(adj, pos=pos_pair)
        if self.add_self_loops:
            adj_ = with_fresh_self_loops(adj_)
        out = self.propagate(adj_, x=x_pair, pos=pos_pair)
        return self.global_nn(out) if self.global_nn is not None else out

    def message(self, x_j: Optional[Tensor], pos_i: Tensor, pos_j: Tensor) -> Tensor:
        msg = pos_j - pos_i
        if x_j is not None:
            msg = torch.cat([x_j, msg], dim=1)
        return self.local_nn(msg) if self.local_nn is not None else msg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local_nn={self.local_nn}, global_nn={self.global_nn})"
