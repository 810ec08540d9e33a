r"""Graph attention (GAT, Veličković et al. 2018) as sddmm -> edge_softmax -> multi-head spmm."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.attention.base import AttentionConv, AttentionOutput, Pair
from graphkit.nn.inits import glorot
from graphkit.nn.linear import Linear

__all__ = ["GATConv"]


class GATConv(AttentionConv):
    r"""Multi-head graph attention; constructor, parameter names and output as ``torch_geometric.nn.GATConv``.

    .. math::
        \alpha_{ij}^h = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}}
            \mathrm{LeakyReLU}\big(a_{s,h}^\top \Theta_h x_j + a_{t,h}^\top \Theta_h x_i
            + a_{e,h}^\top \Theta_{e,h} e_{ij}\big), \qquad
        x_i'^h = \sum_j \alpha_{ij}^h \Theta_h x_j

    and the heads are concatenated (``concat=True``) or averaged, plus ``bias`` (and a linear ``residual``).

    How it runs (:class:`~graphkit.nn.attention.base.AttentionConv`): the attention logit is separable, so each
    node gets two scalars per head (:math:`a_s^\top \Theta x`, :math:`a_t^\top \Theta x`) and the edge term
    folds into one ``[D, H]`` matrix :math:`(a_{e,h}^\top \Theta_{e,h})_h`; ``edge_update`` forms the ``[E, H]``
    logits with an ``sddmm(op="add")``, ``edge_softmax`` normalises them, dropout acts on the ``[E, H]``
    weights, and the fused ``message_and_aggregate`` (one multi-head ``spmm``) aggregates ``[N, H, F]``
    features. Nothing of size ``[E, H, F]`` is built, in forward or (given fused ops) backward.

    Args:
        in_channels: input size, or ``(src, dst)`` sizes for a bipartite graph.
        out_channels: features per head ``F``.
        heads: number of heads ``H``. concat: concatenate (``H*F`` outputs) or average the heads.
        negative_slope: LeakyReLU slope. dropout: dropout on the attention weights (training only).
        add_self_loops: remove existing self-loops and add one per node (as PyG).
        edge_dim: edge-feature size (``None``: no edge features). fill_value: edge features of the added loops
            (number, tensor, or ``"mean"``/``"add"``/``"max"``/``"min"``/``"mul"`` of incoming edge features).
        bias: learn an additive bias. residual: add a linear projection of the target's input.
        flow: message direction (``"source_to_target"`` or ``"target_to_source"``).

    Shapes:
        - x: ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``; adj: ``(2, |E|)`` or a ``Graph``;
          edge_attr: ``(|E|, D)``; size: ``(|V_s|, |V_t|)`` (optional)
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
        flow: str = "source_to_target",
    ) -> None:
        super().__init__(in_channels, out_channels, heads, concat, dropout, edge_dim, flow)
        self.negative_slope, self.add_self_loops = negative_slope, add_self_loops
        self.fill_value, self.residual = fill_value, residual
        hf = heads * out_channels
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = Linear(in_channels, hf, bias=False, weight_initializer="glorot")
        else:
            self.lin_src = Linear(in_channels[0], hf, bias=False, weight_initializer="glorot")
            self.lin_dst = Linear(in_channels[1], hf, bias=False, weight_initializer="glorot")
        self.att_src = Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = Parameter(torch.empty(1, heads, out_channels))
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, hf, bias=False, weight_initializer="glorot")
            self.att_edge = Parameter(torch.empty(1, heads, out_channels))
        else:
            self.lin_edge = None
            self.register_parameter("att_edge", None)
        self._residual_and_bias(residual, in_channels if isinstance(in_channels, int) else in_channels[1], bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin, self.lin_src, self.lin_dst, self.lin_edge, self.res):
            if lin is not None:
                lin.reset_parameters()  # glorot (a lazy one waits for its input width)
        glorot(self.att_src)
        glorot(self.att_dst)
        glorot(self.att_edge)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(
        self,
        x: Pair,
        adj: Any,
        edge_attr: Optional[Tensor] = None,
        size: Optional[Tuple[int, int]] = None,
        return_attention_weights: Optional[bool] = None,
    ) -> AttentionOutput:
        H, C = self.heads, self.out_channels
        x_in_src, x_in_dst = self.split(x)
        if self.lin is not None:
            x_src = self.lin(x_in_src).view(-1, H, C)
            x_dst = x_src if x_in_dst is x_in_src else (None if x_in_dst is None else self.lin(x_in_dst).view(-1, H, C))
        else:
            x_src = self.lin_src(x_in_src).view(-1, H, C)
            x_dst = None if x_in_dst is None else self.lin_dst(x_in_dst).view(-1, H, C)
        res = self.res(x_in_dst) if self.res is not None and x_in_dst is not None else None

        A, edge_attr = self.structure(x_src, x_dst, adj, edge_attr, size, self.add_self_loops, self.fill_value)
        alpha_src = (x_src * self.att_src).sum(-1)  # [N_src, H]
        alpha_dst = (x_dst * self.att_dst).sum(-1) if x_dst is not None else alpha_src.new_zeros(A.num_dst, H)
        out, _, weights = self.attend(
            A, self.edge_updater(A, alpha_src=alpha_src, alpha_dst=alpha_dst, edge_attr=edge_attr), x_src)
        return self.finish(out, A, weights, res, return_attention_weights, adj)

    def edge_update(self, adj: Adjacency, alpha_src: Tensor, alpha_dst: Tensor,
                    edge_attr: Optional[Tensor]) -> Tensor:
        """``[E, H]`` logits ``LeakyReLU(a_t.x_i + a_s.x_j + a_e.(W_e e_ij))`` through one ``sddmm``."""
        alpha = adj.sddmm(alpha_dst, alpha_src, op="add")  # [E, H]: a_t.x_i + a_s.x_j
        if edge_attr is not None and self.lin_edge is not None:
            H, C = self.heads, self.out_channels
            # a_e^T (W_e e) = (a_e^T W_e) e: fold the projection into [H, D] so no [E, H, F] is formed.
            w = self.lin_edge.weight.view(H, C, -1)
            alpha = alpha + edge_attr @ (w * self.att_edge.view(H, C, 1)).sum(1).t()
        # Not in place: measured, an in-place LeakyReLU here raises the peak by one [E, H] buffer.
        return F.leaky_relu(alpha, self.negative_slope)
