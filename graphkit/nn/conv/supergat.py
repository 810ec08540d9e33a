r"""SuperGATConv (Kim & Oh, "How to Find Your Friendly Neighborhood: Graph Attention Design with
Self-Supervision")."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv._loops import with_fresh_self_loops
from graphkit.nn.inits import glorot, zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing
from graphkit.utils import batched_negative_sampling, dropout_edge, is_undirected, negative_sampling, to_undirected

__all__ = ["SuperGATConv"]


class SuperGATConv(MessagePassing):
    r"""Graph attention whose scores are also trained to tell edges from non-edges:

    .. math::
        \mathbf{x}^{\prime}_i = \Big\Vert_{h} \sum_{j \in \mathcal{N}(i) \cup \{ i \}} \alpha^h_{i,j}
        \mathbf{\Theta}^h \mathbf{x}_j, \qquad \alpha_{i,j} = \mathrm{softmax}_j\big(\mathrm{LeakyReLU}(e_{i,j})
        \big)

    with ``attention_type="MX"``: :math:`e_{i,j} = (\mathbf{a}_l^\top \mathbf{x}'_j + \mathbf{a}_r^\top
    \mathbf{x}'_i)\, \sigma(\mathbf{x}'^\top_i \mathbf{x}'_j)`, or ``"SD"``: :math:`e_{i,j} =
    \mathbf{x}'^\top_i \mathbf{x}'_j / \sqrt{C}`. In training, the logits of the (sampled) edges and of
    negative samples are kept, and :meth:`get_attention_loss` is their binary cross-entropy. Same arguments and
    parameters (``lin``, ``att_l``, ``att_r``, ``bias``) as PyG's ``SuperGATConv``. Scores come from a fused
    ``sddmm``, the softmax from ``edge_softmax`` and the aggregation from a multi-head ``spmm``: no
    ``[E, heads, C]`` message tensor.

    Shapes:
        x ``(|V|, F_in)``, adj, neg_edge_index ``(2, |E^-|)`` optional, batch ``(|V|)`` optional
        -> ``(|V|, H C)`` (``concat``) or ``(|V|, C)``.

    >>> conv = SuperGATConv(3, 4, heads=2).eval()
    >>> conv(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True, bias: bool = True,
                 attention_type: str = "MX", neg_sample_ratio: float = 0.5, edge_sample_ratio: float = 1.0,
                 is_undirected: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if attention_type not in ("MX", "SD"):
            raise ValueError(f"attention_type must be 'MX' or 'SD', got {attention_type!r}")
        if not (neg_sample_ratio > 0 and 0 < edge_sample_ratio <= 1):
            raise ValueError(f"need neg_sample_ratio > 0 and 0 < edge_sample_ratio <= 1, got {neg_sample_ratio}, "
                             f"{edge_sample_ratio}")
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.attention_type, self.neg_sample_ratio = attention_type, neg_sample_ratio
        self.edge_sample_ratio, self.is_undirected = edge_sample_ratio, is_undirected
        self.lin = Linear(in_channels, heads * out_channels, bias=False, weight_initializer="glorot")
        if attention_type == "MX":
            self.att_l: Optional[torch.nn.Parameter] = torch.nn.Parameter(torch.empty(1, heads, out_channels))
            self.att_r: Optional[torch.nn.Parameter] = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        else:
            self.att_l = self.att_r = None
        self.att_x: Optional[Tensor] = None
        self.att_y: Optional[Tensor] = None
        width = heads * out_channels if concat else out_channels
        self.bias = torch.nn.Parameter(torch.empty(width)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        glorot(self.att_l)
        glorot(self.att_r)
        zeros(self.bias)

    def _logits(self, x: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        """The self-supervised logits of the pairs ``(src -> dst)``: ``[P, H]``."""
        logits = (x[dst] * x[src]).sum(dim=-1)
        return logits if self.attention_type == "MX" else logits / math.sqrt(self.out_channels)

    def forward(self, x: Tensor, adj: Any, neg_edge_index: Optional[Tensor] = None,
                batch: Optional[Tensor] = None) -> Tensor:
        n, h, c = x.size(0), self.heads, self.out_channels
        adj_ = self.adjacency(adj, x=x)
        if self.add_self_loops:
            adj_ = with_fresh_self_loops(adj_)
        x = self.lin(x).view(-1, h, c)
        scores = adj_.sddmm(x, x, op="dot")  # x_i . x_j per head, [E, H]
        if self.attention_type == "MX":
            a_src = (x * self.att_l).sum(dim=-1)  # type: ignore[operator]
            a_dst = (x * self.att_r).sum(dim=-1)  # type: ignore[operator]
            scores = (a_src[adj_.src] + a_dst[adj_.dst]) * scores.sigmoid()
        else:
            scores = scores / math.sqrt(c)
        alpha = adj_.edge_softmax(F.leaky_relu(scores, self.negative_slope))
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = adj_.spmm(x, alpha.contiguous())
        if self.training:
            self._self_supervision(x, adj_, n, neg_edge_index, batch)
        out = out.reshape(-1, h * c) if self.concat else out.mean(dim=1)
        return out + self.bias if self.bias is not None else out

    def _self_supervision(self, x: Tensor, adj: Adjacency, n: int, neg_edge_index: Optional[Tensor],
                          batch: Optional[Tensor]) -> None:
        pos, _ = dropout_edge(adj.edge_index, p=1.0 - self.edge_sample_ratio, training=True)
        if neg_edge_index is None:
            num_neg = int(self.neg_sample_ratio * self.edge_sample_ratio * adj.num_edges)
            ei = adj.edge_index
            if not self.is_undirected and not is_undirected(ei, num_nodes=n):
                ei = to_undirected(ei, num_nodes=n)
            neg_edge_index = (negative_sampling(ei, n, num_neg) if batch is None
                              else batched_negative_sampling(ei, batch, num_neg))
        pos_att = self._logits(x, pos[0], pos[1])
        neg_att = self._logits(x, neg_edge_index[0], neg_edge_index[1])
        self.att_x = torch.cat([pos_att, neg_att], dim=0)
        self.att_y = torch.cat([self.att_x.new_ones(pos_att.size(0)), self.att_x.new_zeros(neg_att.size(0))])

    def get_attention_loss(self) -> Tensor:
        """Binary cross-entropy of the last training call's logits (edges 1, negatives 0); 0 in eval mode."""
        if not self.training or self.att_x is None or self.att_y is None:
            return torch.zeros(1, device=self.lin.weight.device)
        return F.binary_cross_entropy_with_logits(self.att_x.mean(dim=-1), self.att_y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads}, " \
               f"type={self.attention_type})"
