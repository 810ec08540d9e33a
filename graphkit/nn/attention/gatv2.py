r"""GATv2 ("How Attentive are Graph Attention Networks?", Brody et al. 2022): dynamic attention."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.attention._edgewise import gatv2_scores
from graphkit.nn.attention.base import AttentionConv, AttentionOutput, Pair
from graphkit.nn.inits import glorot
from graphkit.nn.linear import Linear

__all__ = ["GATv2Conv"]


class GATv2Conv(AttentionConv):
    r"""GATv2 attention; constructor, parameter names and output as ``torch_geometric.nn.GATv2Conv``.

    .. math::
        \alpha_{ij}^h = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}}
            a_h^\top \mathrm{LeakyReLU}\big(\Theta_{l,h} x_j + \Theta_{r,h} x_i + \Theta_{e,h} e_{ij}\big),
        \qquad x_i'^h = \sum_j \alpha_{ij}^h \Theta_{l,h} x_j

    What is materialised: unlike GAT the logit is not separable (the LeakyReLU sits inside), so it is not an
    sddmm. It is computed by :func:`~graphkit.nn.attention._edgewise.gatv2_scores`, which walks the edges in
    chunks of about :data:`~graphkit.nn.attention._edgewise.CHUNK_ELEMENTS` / (H F) edges and keeps only the
    ``[E, H]`` scores; its backward recomputes each chunk. So the largest per-edge temporary is
    ``[chunk, H, F]`` (16 MiB in float32 by default), never ``[E, H, F]``; the edge projection
    :math:`\Theta_e e_{ij}` is also formed chunk by chunk from ``edge_attr [E, D]``. Softmax, dropout and the
    aggregation are ``edge_softmax`` and one multi-head ``spmm`` on ``[E, H]`` weights.

    Args:
        in_channels, out_channels, heads, concat, negative_slope, dropout, add_self_loops, edge_dim, fill_value,
        bias, residual, flow: as :class:`~graphkit.nn.attention.gat.GATConv`.
        share_weights: use one matrix for source and target (``lin_r is lin_l``).
        chunk: edges per chunk of the score computation (default: sized to ``CHUNK_ELEMENTS``).

    Shapes:
        - x: ``(|V|, F_in)`` or a ``(source, target)`` pair; adj: ``(2, |E|)`` or a ``Graph``; edge_attr ``(|E|, D)``;
          size: ``(|V_s|, |V_t|)`` (optional)
        - output: ``(|V_t|, H * F)`` if ``concat`` else ``(|V_t|, F)``

    >>> GATv2Conv(4, 8, heads=2)(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
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
        share_weights: bool = False,
        residual: bool = False,
        chunk: Optional[int] = None,
        flow: str = "source_to_target",
    ) -> None:
        super().__init__(in_channels, out_channels, heads, concat, dropout, edge_dim, flow)
        self.negative_slope, self.add_self_loops = negative_slope, add_self_loops
        self.fill_value, self.residual = fill_value, residual
        self.share_weights, self.chunk = share_weights, chunk
        hf = heads * out_channels
        src_in, dst_in = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.lin_l = Linear(src_in, hf, bias=bias, weight_initializer="glorot", bias_initializer="zeros")
        self.lin_r = self.lin_l if share_weights else Linear(dst_in, hf, bias=bias, weight_initializer="glorot",
                                                              bias_initializer="zeros")
        self.att = Parameter(torch.empty(1, heads, out_channels))
        self.lin_edge = Linear(edge_dim, hf, bias=False, weight_initializer="glorot") if edge_dim is not None else None
        self._residual_and_bias(residual, dst_in, bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_l, self.lin_r, self.lin_edge, self.res):
            if lin is not None:
                lin.reset_parameters()  # glorot weight, zero bias (a lazy one waits for its input width)
        glorot(self.att)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(
        self,
        x: Pair,
        adj: Any,
        edge_attr: Optional[Tensor] = None,
        return_attention_weights: Optional[bool] = None,
        size: Optional[Tuple[int, int]] = None,
    ) -> AttentionOutput:
        H, C = self.heads, self.out_channels
        x_in_l, x_in_r = self.split(x)
        if x_in_r is None:
            raise ValueError("GATv2Conv needs target features: x must be a tensor or a (source, target) pair")
        x_l = self.lin_l(x_in_l).view(-1, H, C)
        x_r = x_l if (self.share_weights and x_in_r is x_in_l) else self.lin_r(x_in_r).view(-1, H, C)
        res = self.res(x_in_r) if self.res is not None else None

        A, edge_attr = self.structure(x_l, x_r, adj, edge_attr, size, self.add_self_loops, self.fill_value)
        out, _, weights = self.attend(A, self.edge_updater(A, x_l=x_l, x_r=x_r, edge_attr=edge_attr), x_l)
        return self.finish(out, A, weights, res, return_attention_weights, adj)

    def edge_update(self, adj: Adjacency, x_l: Tensor, x_r: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        """``[E, H]`` logits ``a.LeakyReLU(W_l x_j + W_r x_i + W_e e_ij)``, walked in edge chunks."""
        w_edge = self.lin_edge.weight if edge_attr is not None and self.lin_edge is not None else None
        edge_attr = edge_attr if w_edge is not None else None
        return gatv2_scores(x_l, x_r, self.att, adj.src, adj.dst, self.negative_slope, edge_attr, w_edge, self.chunk)
