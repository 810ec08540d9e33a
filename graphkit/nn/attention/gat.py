r"""Graph attention (GAT, Veličković et al. 2018) as sddmm -> edge_softmax -> multi-head spmm."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, Parameter

from graphkit.nn.attention._common import graph_edge_attr, merge_heads, resolve, split_pair, with_self_loops
from graphkit.nn.inits import glorot

__all__ = ["GATConv"]


class GATConv(torch.nn.Module):
    r"""Multi-head graph attention; constructor, parameter names and output as ``torch_geometric.nn.GATConv``.

    .. math::
        \alpha_{ij}^h = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}}
            \mathrm{LeakyReLU}\big(a_{s,h}^\top \Theta_h x_j + a_{t,h}^\top \Theta_h x_i
            + a_{e,h}^\top \Theta_{e,h} e_{ij}\big), \qquad
        x_i'^h = \sum_j \alpha_{ij}^h \Theta_h x_j

    and the heads are concatenated (``concat=True``) or averaged, plus ``bias`` (and a linear ``residual``).

    How it runs: the attention logit is separable, so each node gets two scalars per head
    (:math:`a_s^\top \Theta x`, :math:`a_t^\top \Theta x`) and the edge term folds into one ``[D, H]`` matrix
    :math:`(a_{e,h}^\top \Theta_{e,h})_h`; an ``sddmm(op="add")`` forms the ``[E, H]`` logits, ``edge_softmax``
    normalises them, dropout acts on the ``[E, H]`` weights, and one multi-head ``spmm`` aggregates
    ``[N, H, F]`` features. Nothing of size ``[E, H, F]`` is built, in forward or (given fused ops) backward.

    Args:
        in_channels: input size, or ``(src, dst)`` sizes for a bipartite graph.
        out_channels: features per head ``F``.
        heads: number of heads ``H``. concat: concatenate (``H*F`` outputs) or average the heads.
        negative_slope: LeakyReLU slope. dropout: dropout on the attention weights (training only).
        add_self_loops: remove existing self-loops and add one per node (as PyG).
        edge_dim: edge-feature size (``None``: no edge features). fill_value: edge features of the added loops
            (number, tensor, or ``"mean"``/``"add"``/``"max"``/``"min"``/``"mul"`` of incoming edge features).
        bias: learn an additive bias. residual: add a linear projection of the target's input.

    Shapes:
        - x: ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``; adj: ``(2, |E|)`` or a ``Graph``;
          edge_attr: ``(|E|, D)``
        - output: ``(|V_t|, H * F)`` if ``concat`` else ``(|V_t|, F)``; with ``return_attention_weights=True``
          also ``(edge_index, alpha)`` with ``alpha`` of shape ``(|E'|, H)`` (``E'`` includes the added loops)

    >>> conv = GATConv(4, 8, heads=2)
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 16])
    """

    def __init__(
        self,
        in_channels: Union[int, Tuple[int, int]],
        out_channels: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        add_self_loops: bool = True,
        edge_dim: Optional[int] = None,
        fill_value: Union[float, Tensor, str] = "mean",
        bias: bool = True,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if heads < 1 or out_channels < 1:
            raise ValueError(f"heads and out_channels must be positive, got heads={heads}, out_channels={out_channels}")
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.edge_dim, self.fill_value, self.residual = edge_dim, fill_value, residual
        hf = heads * out_channels
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = Linear(in_channels, hf, bias=False)
        else:
            self.lin_src = Linear(in_channels[0], hf, bias=False)
            self.lin_dst = Linear(in_channels[1], hf, bias=False)
        self.att_src = Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = Parameter(torch.empty(1, heads, out_channels))
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, hf, bias=False)
            self.att_edge = Parameter(torch.empty(1, heads, out_channels))
        else:
            self.lin_edge = None
            self.register_parameter("att_edge", None)
        total = out_channels * (heads if concat else 1)
        if residual:
            self.res = Linear(in_channels if isinstance(in_channels, int) else in_channels[1], total, bias=False)
        else:
            self.register_parameter("res", None)
        if bias:
            self.bias = Parameter(torch.empty(total))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_src, self.lin_dst, self.lin_edge, self.res):
            if lin is not None:
                glorot(lin.weight)
        glorot(self.att_src)
        glorot(self.att_dst)
        glorot(self.att_edge)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(
        self,
        x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]],
        adj: Any,
        edge_attr: Optional[Tensor] = None,
        size: Optional[Tuple[int, int]] = None,
        return_attention_weights: Optional[bool] = None,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        H, C = self.heads, self.out_channels
        x_in_src, x_in_dst = split_pair(x)
        if self.lin is not None:
            x_src = self.lin(x_in_src).view(-1, H, C)
            x_dst = x_src if x_in_dst is x_in_src else (None if x_in_dst is None else self.lin(x_in_dst).view(-1, H, C))
        else:
            x_src = self.lin_src(x_in_src).view(-1, H, C)
            x_dst = None if x_in_dst is None else self.lin_dst(x_in_dst).view(-1, H, C)
        res = self.res(x_in_dst) if self.res is not None and x_in_dst is not None else None

        n_src, n_dst = size if size is not None else (x_src.size(0), None if x_dst is None else x_dst.size(0))
        A = resolve(adj, n_src, n_dst)
        edge_attr = graph_edge_attr(adj, edge_attr) if self.lin_edge is not None else edge_attr
        if self.add_self_loops:
            A, edge_attr = with_self_loops(A, edge_attr, min(A.num_src, A.num_dst), self.fill_value)

        alpha_src = (x_src * self.att_src).sum(-1)  # [N_src, H]
        alpha_dst = (x_dst * self.att_dst).sum(-1) if x_dst is not None else alpha_src.new_zeros(A.num_dst, H)
        alpha = A.sddmm(alpha_dst, alpha_src, op="add")  # [E, H]: a_t.x_i + a_s.x_j
        if edge_attr is not None and self.lin_edge is not None:
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            # a_e^T (W_e e) = (a_e^T W_e) e: fold the projection into [H, D] so no [E, H, F] is formed.
            w = self.lin_edge.weight.view(H, C, -1)
            alpha = alpha + edge_attr @ (w * self.att_edge.view(H, C, 1)).sum(1).t()
        # Not in place: measured, an in-place LeakyReLU here raises the peak by one [E, H] buffer.
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = A.edge_softmax(alpha)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = merge_heads(A.spmm(x_src, alpha), self.concat)
        if res is not None:
            out = out + res
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, (A.edge_index, alpha)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
