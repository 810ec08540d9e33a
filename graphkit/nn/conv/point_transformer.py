r"""PointTransformerConv (Zhao et al., "Point Transformer")."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

from torch import Tensor

from graphkit.nn.conv._loops import with_fresh_self_loops
from graphkit.nn.conv._utils import pair_channels
from graphkit.nn.inits import reset
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing
from graphkit.utils.softmax import softmax

__all__ = ["PointTransformerConv"]


class PointTransformerConv(MessagePassing):
    r"""Vector self-attention over each point's neighbourhood:

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{j \in \mathcal{N}(i) \cup \{ i \}} \alpha_{i,j} \odot \left(\mathbf{W}_3
        \mathbf{x}_j + \delta_{ij} \right), \qquad
        \alpha_{i,j} = \mathrm{softmax}_j \left( \gamma_{\mathbf{\Theta}} (\mathbf{W}_1 \mathbf{x}_i -
        \mathbf{W}_2 \mathbf{x}_j + \delta_{i,j}) \right), \quad \delta_{i,j} = h_{\mathbf{\Theta}}(\mathbf{p}_i -
        \mathbf{p}_j)

    (softmax per channel, on graphkit's ``edge_softmax`` kernel; :math:`h` = ``pos_nn``, default a linear layer
    on the 3-D offset; :math:`\gamma` = ``attn_nn``). Same arguments and parameters (``lin``, ``lin_src``,
    ``lin_dst``, ``pos_nn``, ``attn_nn``) as PyG's ``PointTransformerConv``; bipartite and lazy inputs accepted.

    Shapes:
        x ``(|V|, F_in)``, pos ``(|V|, 3)`` (or pairs), adj -> ``(|V_t|, F_out)``.

    >>> import torch
    >>> conv = PointTransformerConv(2, 8)
    >>> conv(torch.randn(4, 2), torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 8])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, pos_nn: Optional[Callable] = None,
                 attn_nn: Optional[Callable] = None, add_self_loops: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.add_self_loops = in_channels, out_channels, add_self_loops
        in_src, in_dst = pair_channels(in_channels)
        self.pos_nn = pos_nn if pos_nn is not None else Linear(3, out_channels)
        self.attn_nn = attn_nn
        self.lin = Linear(in_src, out_channels, bias=False)
        self.lin_src = Linear(in_src, out_channels, bias=False)
        self.lin_dst = Linear(in_dst, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.pos_nn)
        reset(self.attn_nn)
        self.lin.reset_parameters()
        self.lin_src.reset_parameters()
        self.lin_dst.reset_parameters()

    def forward(self, x: Any, pos: Any, adj: Any) -> Tensor:
        x_src, x_dst = (x[0], x[1]) if isinstance(x, (tuple, list)) else (x, x)
        pos_pair = pos if isinstance(pos, (tuple, list)) else (pos, pos)
        alpha = (self.lin_src(x_src), self.lin_dst(x_dst))
        adj_ = self.adjacency(adj, pos=pos_pair)
        if self.add_self_loops:
            adj_ = with_fresh_self_loops(adj_)
        return self.propagate(adj_, x=(self.lin(x_src), x_dst), pos=pos_pair, alpha=alpha)

    def message(self, x_j: Tensor, pos_i: Tensor, pos_j: Tensor, alpha_i: Tensor, alpha_j: Tensor,
                index: Tensor, size_i: Optional[int]) -> Tensor:
        delta = self.pos_nn(pos_i - pos_j)
        score = alpha_i - alpha_j + delta
        if self.attn_nn is not None:
            score = self.attn_nn(score)
        return softmax(score, index, num_nodes=size_i) * (x_j + delta)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
