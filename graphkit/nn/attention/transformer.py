r"""Graph transformer convolution ("Masked Label Prediction", Shi et al. 2021) as sddmm -> softmax -> spmm."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear

from graphkit.nn.attention._common import graph_edge_attr, merge_heads, resolve, split_pair
from graphkit.nn.attention._edgewise import edge_node_dot, edge_weighted_sum

__all__ = ["TransformerConv"]


class TransformerConv(torch.nn.Module):
    r"""Multi-head dot-product attention over each node's in-neighbours; as ``torch_geometric.nn.TransformerConv``.

    .. math::
        \alpha_{ij}^h = \operatorname{softmax}_{j \in \mathcal N(i)}
            \frac{(W_{q,h} x_i)^\top (W_{k,h} x_j + W_{e,h} e_{ij})}{\sqrt{F}}, \qquad
        x_i' = W_s x_i + \big\Vert_h \sum_j \alpha_{ij}^h (W_{v,h} x_j + W_{e,h} e_{ij})

    (heads concatenated, or averaged with ``concat=False``). With ``beta=True`` the skip is gated:
    :math:`x_i' = \beta_i W_s x_i + (1 - \beta_i) m_i`, :math:`\beta_i = \sigma(w^\top [m_i, W_s x_i, m_i - W_s x_i])`.

    How it runs: the query-key logits are one ``sddmm``; the edge terms never form ``W_e e`` per edge
    (``[E, H, F]``): the logit part is :math:`e_{ij}^\top (W_{e,h}^\top q_{i,h})`, a per-edge dot with a
    ``[N, H, D]`` node tensor, and the value part is :math:`W_{e,h} \sum_j \alpha_{ij}^h e_{ij}`, a per-head
    weighted sum of raw edge features; both walk the edges in chunks (``[chunk, H, D]`` at most). Values are
    aggregated by one multi-head ``spmm`` on ``[E, H]`` weights. No self-loops are added (as in PyG).

    Args:
        in_channels: input size, or ``(src, dst)`` sizes. out_channels: features per head ``F``.
        heads: ``H``. concat: concatenate or average the heads. beta: gated skip connection.
        dropout: dropout on the attention weights (training only). edge_dim: edge-feature size ``D``.
        bias: biases in the key/query/value/skip projections. root_weight: add the skip term :math:`W_s x_i`.

    Shapes:
        - x: ``(|V|, F_in)`` or a ``(source, target)`` pair; adj: ``(2, |E|)`` or a ``Graph``; edge_attr ``(|E|, D)``
        - output: ``(|V_t|, H * F)`` if ``concat`` else ``(|V_t|, F)``

    >>> TransformerConv(4, 8, heads=2)(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 16])
    """

    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        heads: int = 1,
        concat: bool = True,
        beta: bool = False,
        dropout: float = 0.0,
        edge_dim: Optional[int] = None,
        bias: bool = True,
        root_weight: bool = True,
    ) -> None:
        super().__init__()
        if heads < 1 or out_channels < 1:
            raise ValueError(f"heads and out_channels must be positive, got heads={heads}, out_channels={out_channels}")
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.beta, self.root_weight = beta and root_weight, root_weight
        self.dropout, self.edge_dim = dropout, edge_dim
        src_in, dst_in = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        hf = heads * out_channels
        self.lin_key = Linear(src_in, hf, bias=bias)
        self.lin_query = Linear(dst_in, hf, bias=bias)
        self.lin_value = Linear(src_in, hf, bias=bias)
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, hf, bias=False)
        else:
            self.register_parameter("lin_edge", None)
        out_total = hf if concat else out_channels
        self.lin_skip = Linear(dst_in, out_total, bias=bias)
        if self.beta:
            self.lin_beta = Linear(3 * out_total, 1, bias=False)
        else:
            self.register_parameter("lin_beta", None)

    def reset_parameters(self) -> None:
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_edge, self.lin_skip, self.lin_beta):
            if lin is not None:
                lin.reset_parameters()

    def forward(
        self,
        x: Union[Tensor, Tuple[Tensor, Tensor]],
        adj: Any,
        edge_attr: Optional[Tensor] = None,
        return_attention_weights: Optional[bool] = None,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        H, C = self.heads, self.out_channels
        x_src, x_dst = split_pair(x)
        if x_dst is None:
            raise ValueError("TransformerConv needs target features: x must be a tensor or a (source, target) pair")
        query = self.lin_query(x_dst).view(-1, H, C)
        key = self.lin_key(x_src).view(-1, H, C)
        value = self.lin_value(x_src).view(-1, H, C)
        A = resolve(adj, x_src.size(0), x_dst.size(0))
        edge_attr = graph_edge_attr(adj, edge_attr) if self.lin_edge is not None else edge_attr
        if self.lin_edge is not None and edge_attr is None:
            raise ValueError(f"edge_dim is {self.edge_dim} but no edge_attr was given")

        alpha = A.sddmm(query, key, op="dot")  # [E, H]
        w_e = None
        if self.lin_edge is not None:
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            w_e = self.lin_edge.weight.view(H, C, -1)  # [H, F, D]
            # q_i . (W_e e) = (W_e^T q_i) . e: a [N, H, D] node tensor dotted with each edge's raw features.
            alpha = alpha + edge_node_dot(torch.einsum("nhf,hfd->nhd", query, w_e), edge_attr, A.dst)
        alpha = A.edge_softmax(alpha / math.sqrt(C))
        weights = F.dropout(alpha, p=self.dropout, training=self.training)
        out = A.spmm(value, weights)
        if w_e is not None:
            pooled = edge_weighted_sum(weights, edge_attr, A.dst, out.size(0))  # [N, H, D]
            out = out + torch.einsum("nhd,hfd->nhf", pooled, w_e)
        out = merge_heads(out, self.concat)
        if self.root_weight:
            x_r = self.lin_skip(x_dst)
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, x_r, out - x_r], dim=-1)).sigmoid()
                out = beta * x_r + (1 - beta) * out
            else:
                out = out + x_r
        if return_attention_weights:
            return out, (A.edge_index, alpha)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
