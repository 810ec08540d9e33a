r"""Per-edge computations that are not an sddmm, done in edge chunks so no ``[E, H, F]`` tensor ever exists.

Three autograd functions, each forward and backward walking the edges ``chunk`` at a time, so that the largest
live temporary is ``[chunk, H, F]`` (or ``[chunk, H, D]``) instead of ``[E, H, F]``:

* :func:`gatv2_scores`: :math:`s_{e,h} = a_h^\top \mathrm{LeakyReLU}(x^l_{s,h} + x^r_{t,h} + (W_e e_e)_h)`.
  The nonlinearity sits between the gather and the dot product, so it cannot be an sddmm; the backward
  recomputes each chunk's pre-activation instead of saving it (what ``torch.utils.checkpoint`` would do, without
  ever holding all chunks at once).
* :func:`edge_node_dot`: :math:`s_{e,h} = \langle u_{i_e,h,:}, v_{e,:}\rangle` for node rows ``u [N, H, D]`` and
  edge rows ``v [E, D]`` (TransformerConv's query-times-edge-feature score).
* :func:`edge_weighted_sum`: :math:`o_{n,h,:} = \sum_{e: i_e = n} w_{e,h}\, v_{e,:}` (the edge-feature part of
  TransformerConv's values). Its backward is made of the other two functions and vice versa.

The chunk is chosen so that one chunk holds about ``CHUNK_ELEMENTS`` numbers.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.ops._checks import check_first_order

__all__ = ["gatv2_scores", "edge_node_dot", "edge_weighted_sum", "CHUNK_ELEMENTS", "chunk_size"]

#: Target size (in elements) of one chunk's ``[chunk, H, F]`` temporary: 4 Mi elements = 16 MiB in float32.
CHUNK_ELEMENTS = 1 << 22


def chunk_size(per_edge: int, chunk: Optional[int] = None) -> int:
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f"chunk must be a positive number of edges, got {chunk}")
        return chunk
    return max(1, CHUNK_ELEMENTS // max(1, per_edge))


class _GATv2Scores(torch.autograd.Function):
    # Two [chunk, H, F] buffers are allocated once per call and reused by every chunk, and the elementwise steps
    # run in place: fresh multi-MiB allocations per chunk would each cost page faults.
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x_l: Tensor, x_r: Tensor, att: Tensor, edge_attr: Optional[Tensor], w_edge: Optional[Tensor],
        src: Tensor, dst: Tensor, slope: float, chunk: int,
    ) -> Tensor:
        num_edges, (heads, feats) = src.numel(), x_l.shape[1:]
        out = x_l.new_empty(num_edges, heads)
        z_buf, r_buf = _buffers(x_l, min(chunk, num_edges))
        for lo in range(0, num_edges, chunk):
            z = _pre_activation(x_l, x_r, edge_attr, w_edge, src, dst, lo, lo + chunk, z_buf, r_buf)
            torch.sum(F.leaky_relu_(z, slope).mul_(att), dim=-1, out=out[lo : lo + chunk])
        ctx.save_for_backward(x_l, x_r, att, edge_attr, w_edge, src, dst)
        ctx.slope, ctx.chunk = slope, chunk
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        check_first_order("GATv2Conv's fused attention scores")
        x_l, x_r, att, edge_attr, w_edge, src, dst = ctx.saved_tensors
        slope, chunk = ctx.slope, ctx.chunk
        need_l, need_r, need_att, need_ea, need_w = ctx.needs_input_grad[:5]
        g_l = torch.zeros_like(x_l) if need_l else None
        g_r = torch.zeros_like(x_r) if need_r else None
        g_att = torch.zeros_like(att) if need_att else None
        g_ea = torch.zeros_like(edge_attr) if need_ea else None
        g_w = torch.zeros_like(w_edge) if need_w else None
        z_buf, r_buf = _buffers(x_l, min(chunk, src.numel()))
        for lo in range(0, src.numel(), chunk):
            hi = lo + chunk
            z = _pre_activation(x_l, x_r, edge_attr, w_edge, src, dst, lo, hi, z_buf, r_buf)
            g = grad[lo:hi].unsqueeze(-1)  # [C, H, 1]
            positive = z > 0
            if g_att is not None:
                g_att += F.leaky_relu_(z, slope).mul_(g).sum(0, keepdim=True).view_as(att)
            # dz = g * att * LeakyReLU'(z), written into z's buffer (z is no longer needed).
            dz = z.fill_(slope).masked_fill_(positive, 1.0).mul_(att).mul_(g)  # [C, H, F]
            if g_l is not None:
                g_l.index_add_(0, src[lo:hi], dz)
            if g_r is not None:
                g_r.index_add_(0, dst[lo:hi], dz)
            flat = dz.reshape(dz.size(0), -1)
            if g_ea is not None:
                g_ea[lo:hi] = flat @ w_edge
            if g_w is not None:
                g_w += flat.t() @ edge_attr[lo:hi]
        return g_l, g_r, g_att, g_ea, g_w, None, None, None, None


def _buffers(x: Tensor, rows: int) -> Tuple[Tensor, Tensor]:
    return x.new_empty((rows,) + tuple(x.shape[1:])), x.new_empty((rows,) + tuple(x.shape[1:]))


def _pre_activation(
    x_l: Tensor, x_r: Tensor, edge_attr: Optional[Tensor], w_edge: Optional[Tensor],
    src: Tensor, dst: Tensor, lo: int, hi: int, z_buf: Tensor, r_buf: Tensor,
) -> Tensor:
    """``x_l[src] + x_r[dst] (+ W_e e)`` for edges ``lo:hi``, written into (a prefix of) ``z_buf``."""
    idx_s, idx_d = src[lo:hi], dst[lo:hi]
    z, r = z_buf[: idx_s.numel()], r_buf[: idx_s.numel()]
    torch.index_select(x_l, 0, idx_s, out=z)
    z += torch.index_select(x_r, 0, idx_d, out=r)
    if edge_attr is not None and w_edge is not None:
        z += torch.mm(edge_attr[lo:hi], w_edge.t(), out=r.view(r.size(0), -1)).view_as(z)
    return z


def gatv2_scores(
    x_l: Tensor, x_r: Tensor, att: Tensor, src: Tensor, dst: Tensor, negative_slope: float,
    edge_attr: Optional[Tensor] = None, w_edge: Optional[Tensor] = None, chunk: Optional[int] = None,
) -> Tensor:
    r"""GATv2 scores ``[E, H]`` from ``x_l [N_src, H, F]``, ``x_r [N_dst, H, F]``, ``att [1, H, F]``,
    optional ``edge_attr [E, D]`` and ``w_edge [H*F, D]``; at most ``[chunk, H, F]`` is live at a time."""
    c = chunk_size(x_l.size(1) * x_l.size(2), chunk)
    return _GATv2Scores.apply(x_l, x_r, att, edge_attr, w_edge, src, dst, float(negative_slope), c)


class _EdgeNodeDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: Tensor, v: Tensor, index: Tensor, chunk: int) -> Tensor:  # type: ignore[override]
        out = u.new_empty(index.numel(), u.size(1))
        for lo in range(0, index.numel(), chunk):
            out[lo : lo + chunk] = (u.index_select(0, index[lo : lo + chunk]) * v[lo : lo + chunk, None, :]).sum(-1)
        ctx.save_for_backward(u, v, index)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        check_first_order("the fused edge-wise attention (query . key per edge)")
        u, v, index = ctx.saved_tensors
        g_u = edge_weighted_sum(grad, v, index, u.size(0), ctx.chunk) if ctx.needs_input_grad[0] else None
        g_v = _weighted_row_sum(u, grad, index, ctx.chunk) if ctx.needs_input_grad[1] else None
        return g_u, g_v, None, None


class _EdgeWeightedSum(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, w: Tensor, v: Tensor, index: Tensor, num_nodes: int, chunk: int
    ) -> Tensor:
        out = v.new_zeros(num_nodes, w.size(1), v.size(1))
        for lo in range(0, index.numel(), chunk):
            out.index_add_(0, index[lo : lo + chunk], w[lo : lo + chunk, :, None] * v[lo : lo + chunk, None, :])
        ctx.save_for_backward(w, v, index)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        check_first_order("the fused edge-wise attention (weighted sum per edge)")
        w, v, index = ctx.saved_tensors
        g_w = edge_node_dot(grad, v, index, ctx.chunk) if ctx.needs_input_grad[0] else None
        g_v = _weighted_row_sum(grad, w, index, ctx.chunk) if ctx.needs_input_grad[1] else None
        return g_w, g_v, None, None, None


def _weighted_row_sum(u: Tensor, w: Tensor, index: Tensor, chunk: int) -> Tensor:
    """``r_e = sum_h w_{e,h} u_{i_e,h,:}`` -> ``[E, D]`` (not differentiated further: used only in backward)."""
    out = u.new_empty(index.numel(), u.size(2))
    for lo in range(0, index.numel(), chunk):
        out[lo : lo + chunk] = (u.index_select(0, index[lo : lo + chunk]) * w[lo : lo + chunk, :, None]).sum(1)
    return out


def edge_node_dot(u: Tensor, v: Tensor, index: Tensor, chunk: Optional[int] = None) -> Tensor:
    """``out[e, h] = <u[index[e], h, :], v[e, :]>`` for ``u [N, H, D]``, ``v [E, D]`` -> ``[E, H]``."""
    return _EdgeNodeDot.apply(u, v, index, chunk_size(u.size(1) * u.size(2), chunk))


def edge_weighted_sum(w: Tensor, v: Tensor, index: Tensor, num_nodes: int, chunk: Optional[int] = None) -> Tensor:
    """``out[n, h, :] = sum_{e: index[e] = n} w[e, h] v[e, :]`` for ``w [E, H]``, ``v [E, D]`` -> ``[N, H, D]``."""
    return _EdgeWeightedSum.apply(w, v, index, num_nodes, chunk_size(w.size(1) * v.size(1), chunk))
