r"""Graph transformer convolution ("Masked Label Prediction", Shi et al. 2021) as sddmm -> softmax -> spmm."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.attention._edgewise import edge_node_dot, edge_weighted_sum
from graphkit.nn.attention.base import AttentionConv, AttentionOutput, Pair, attention_weights
from graphkit.nn.linear import Linear

__all__ = ["TransformerConv"]


class TransformerConv(AttentionConv):
    r"""Multi-head dot-product attention over each node's in-neighbours; as ``torch_geometric.nn.TransformerConv``.

    .. math::
        \alpha_{ij}^h = \operatorname{softmax}_{j \in \mathcal N(i)}
            \frac{(W_{q,h} x_i)^\top (W_{k,h} x_j + W_{e,h} e_{ij})}{\sqrt{F}}, \qquad
        x_i' = W_s x_i + \big\Vert_h \sum_j \alpha_{ij}^h (W_{v,h} x_j + W_{e,h} e_{ij})

    (heads concatenated, or averaged with ``concat=False``). With ``beta=True`` the skip is gated:
    :math:`x_i' = \beta_i W_s x_i + (1 - \beta_i) m_i`, :math:`\beta_i = \sigma(w^\top [m_i, W_s x_i, m_i - W_s x_i])`.

    How it runs (:class:`~graphkit.nn.attention.base.AttentionConv`): the query-key logits are one ``sddmm``;
    the edge terms never form ``W_e e`` per edge (``[E, H, F]``): the logit part is
    :math:`e_{ij}^\top (W_{e,h}^\top q_{i,h})`, a per-edge dot with a ``[N, H, D]`` node tensor, and the value
    part is :math:`W_{e,h} \sum_j \alpha_{ij}^h e_{ij}`, a per-head weighted sum of raw edge features; both walk
    the edges in chunks (``[chunk, H, D]`` at most). Values are aggregated by one multi-head ``spmm`` on
    ``[E, H]`` weights. No self-loops are added (as in PyG).

    Args:
        in_channels: input size, or ``(src, dst)`` sizes. out_channels: features per head ``F``.
        heads: ``H``. concat: concatenate or average the heads. beta: gated skip connection.
        dropout: dropout on the attention weights (training only). edge_dim: edge-feature size ``D``.
        bias: biases in the key/query/value/skip projections. root_weight: add the skip term :math:`W_s x_i`.
        flow: message direction.

    Shapes:
        - x: ``(|V|, F_in)`` or a ``(source, target)`` pair; adj: ``(2, |E|)`` or a ``Graph``; edge_attr ``(|E|, D)``;
          size: ``(|V_s|, |V_t|)`` (optional)
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
        flow: str = "source_to_target",
    ) -> None:
        super().__init__(in_channels, out_channels, heads, concat, dropout, edge_dim, flow)
        self.beta, self.root_weight = beta and root_weight, root_weight
        src_in, dst_in = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        hf = heads * out_channels
        self.lin_key = Linear(src_in, hf, bias=bias)
        self.lin_query = Linear(dst_in, hf, bias=bias)
        self.lin_value = Linear(src_in, hf, bias=bias)
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, hf, bias=False)
        else:
            self.register_parameter("lin_edge", None)
        self.lin_skip = Linear(dst_in, self.out_total, bias=bias)
        if self.beta:
            self.lin_beta = Linear(3 * self.out_total, 1, bias=False)
        else:
            self.register_parameter("lin_beta", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_edge, self.lin_skip, self.lin_beta):
            if lin is not None:
                lin.reset_parameters()

    def forward(
        self,
        x: Pair,
        adj: Any,
        edge_attr: Optional[Tensor] = None,
        return_attention_weights: Optional[bool] = None,
        size: Optional[Tuple[int, int]] = None,
    ) -> AttentionOutput:
        H, C = self.heads, self.out_channels
        x_src, x_dst = self.split(x)
        if x_dst is None:
            raise ValueError("TransformerConv needs target features: x must be a tensor or a (source, target) pair")
        query = self.lin_query(x_dst).view(-1, H, C)
        key = self.lin_key(x_src).view(-1, H, C)
        value = self.lin_value(x_src).view(-1, H, C)
        A, edge_attr = self.structure(key, query, adj, edge_attr, size)
        if self.lin_edge is not None and edge_attr is None:
            raise ValueError(f"edge_dim is {self.edge_dim} but no edge_attr was given")

        out, alpha, _ = self.attend(A, self.edge_updater(A, query=query, key=key, edge_attr=edge_attr), value,
                                    edge_attr=edge_attr)
        out = self.merge_heads(out)
        if self.root_weight:
            x_r = self.lin_skip(x_dst)
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, x_r, out - x_r], dim=-1)).sigmoid()
                out = beta * x_r + (1 - beta) * out
            else:
                out = out + x_r
        if return_attention_weights:
            return out, attention_weights(A, alpha, adj)
        return out

    def _edge_weight(self) -> Optional[Tensor]:
        """``W_e`` as ``[H, F, D]``, or ``None`` without edge features."""
        if self.lin_edge is None:
            return None
        return self.lin_edge.weight.view(self.heads, self.out_channels, -1)

    def edge_update(self, adj: Adjacency, query: Tensor, key: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        """``[E, H]`` logits ``q_i.(k_j + W_e e_ij) / sqrt(F)``: one ``sddmm`` plus a chunked edge-node dot."""
        alpha = adj.sddmm(query, key, op="dot")  # [E, H]
        w_e = self._edge_weight()
        if w_e is not None and edge_attr is not None:
            # q_i . (W_e e) = (W_e^T q_i) . e: a [N, H, D] node tensor dotted with each edge's raw features.
            alpha = alpha + edge_node_dot(torch.einsum("nhf,hfd->nhd", query, w_e), edge_attr, adj.dst)
        return alpha / math.sqrt(self.out_channels)

    def message_and_aggregate(self, adj: Adjacency, x: Tensor, alpha: Tensor,
                              edge_attr: Optional[Tensor] = None) -> Tensor:
        r""":math:`\sum_j \alpha_{ij}^h (v_j^h + W_{e,h} e_{ij})`: one multi-head ``spmm`` of the values plus
        :math:`W_{e,h} \sum_j \alpha_{ij}^h e_{ij}` (a chunked weighted sum of raw edge features)."""
        out = adj.spmm(x, alpha)
        w_e = self._edge_weight()
        if w_e is not None and edge_attr is not None:
            pooled = edge_weighted_sum(alpha, edge_attr, adj.dst, out.size(0))  # [N, H, D]
            out = out + torch.einsum("nhd,hfd->nhf", pooled, w_e)
        return out

    def message(self, x_j: Tensor, alpha: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        """The unfused twin (``fuse=False``): ``alpha * (v_j + W_e e)``, forming ``[E, H, F]``."""
        w_e = self._edge_weight()
        if w_e is not None and edge_attr is not None:
            x_j = x_j + torch.einsum("ed,hfd->ehf", edge_attr, w_e)
        return x_j * alpha.unsqueeze(-1)
