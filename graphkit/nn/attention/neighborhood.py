r"""2-D neighbourhood attention (NAT/DiNAT, NATTEN semantics) as graph attention on a k x k window grid graph.

Every pixel attends to a ``k x k`` window of pixels spaced ``d`` apart (the dilation). Windows never leave the
image: near a border the window is shifted inward, so every query sees exactly ``k^2`` keys, as in NATTEN.
With dilation the pixels split into ``d x d`` interleaved sub-grids (``row mod d``, ``col mod d``); attention
stays inside a pixel's sub-grid, and within it the window is the ordinary shifted one.

Per axis, for a position ``i`` of an axis of length ``L``: ``r = i mod d``, the sub-grid has
``L_r = ceil((L - r) / d)`` positions, the query is its ``q = i div d``-th, the window starts at
``s = clamp(q - k div 2, 0, L_r - k)`` and covers ``r + (s + a) d`` for ``a = 0..k-1``. The relative
position of key ``a`` is ``(s + a) - q`` in ``[-(k-1), k-1]``, which indexes the ``(2k-1) x (2k-1)``
relative-position bias table. The graph of one ``(H, W, k, d)`` is built once and cached; a batch of ``B``
images and ``nh`` heads runs as ``B * nh`` heads on that single graph, so the structure is never replicated.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.adjacency import Adjacency
from graphkit.nn.message_passing import MessagePassing
from graphkit.ops._checks import check_positive_int

__all__ = ["NeighborhoodAttention2d", "WindowAttention", "na2d", "neighborhood_graph", "check_window"]


def check_window(height: int, width: int, kernel_size: int, dilation: int) -> None:
    """Raise ``ValueError`` unless an odd ``kernel_size`` window with ``dilation`` fits a ``height x width`` image."""
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive int, got {kernel_size!r}")
    check_positive_int("dilation", dilation)
    for name, size in (("height", height), ("width", width)):
        if size < kernel_size * dilation:
            raise ValueError(
                f"{name} is {size} but kernel_size * dilation is {kernel_size * dilation}: "
                "every window must fit inside the image"
            )


def _axis_windows(length: int, kernel_size: int, dilation: int) -> Tuple[Tensor, Tensor]:
    """``(keys [L, k], rel [L, k])``: each position's window along one axis and its relative offsets + k - 1."""
    i = torch.arange(length)
    r, q = i % dilation, i // dilation
    sub_len = (length - r + dilation - 1) // dilation
    start = torch.minimum((q - kernel_size // 2).clamp(min=0), sub_len - kernel_size)
    a = torch.arange(kernel_size)
    slot = start[:, None] + a  # index inside the sub-grid
    return r[:, None] + slot * dilation, slot - q[:, None] + kernel_size - 1


@lru_cache(maxsize=32)
def _neighborhood(height: int, width: int, kernel_size: int, dilation: int, device: str) -> Tuple[Graph, Tensor]:
    keys_r, rel_r = _axis_windows(height, kernel_size, dilation)
    keys_c, rel_c = _axis_windows(width, kernel_size, dilation)
    k = kernel_size
    # [H, W, k, k] sources and bias slots, flattened row-major over (target row, target col, a, b).
    src = keys_r[:, None, :, None] * width + keys_c[None, :, None, :]
    rel = rel_r[:, None, :, None] * (2 * k - 1) + rel_c[None, :, None, :]
    dst = torch.arange(height * width).repeat_interleave(k * k)
    edge_index = torch.stack([src.reshape(-1), dst]).to(device)
    # The Graph (not just edge_index) is cached, so its CSR is built once and shared by every call.
    return Graph(edge_index=edge_index, num_nodes=height * width), rel.reshape(-1).to(device)


def neighborhood_graph(
    height: int, width: int, kernel_size: int, dilation: int = 1, device: Optional[torch.device] = None
) -> Tuple[Graph, Tensor]:
    """The window graph of an ``height x width`` image and each edge's slot in the flattened ``(2k-1)^2`` bias table.

    Nodes are pixels in row-major order; edges ``(source, target)`` come grouped by target (``k^2`` each).
    The result is cached: do not modify it.

    >>> g, rel = neighborhood_graph(3, 4, 3)
    >>> g.num_nodes, g.num_edges, int(rel.max())
    (12, 108, 24)
    """
    check_window(height, width, kernel_size, dilation)
    return _neighborhood(height, width, kernel_size, dilation, str(torch.device(device or "cpu")))


class WindowAttention(MessagePassing):
    r"""Attention over :func:`neighborhood_graph` as message passing, without parameters: ``edge_update`` forms
    the ``[E, B n_h]`` logits (one ``sddmm``, plus the relative position bias), ``edge_softmax`` normalises them
    and the fused ``message_and_aggregate`` is one multi-head ``spmm``. :func:`na2d` and
    :class:`NeighborhoodAttention2d` both run :meth:`window`.
    """

    fused_adjacency = True

    def window(self, q: Tensor, k: Tensor, v: Tensor, kernel_size: int, dilation: int = 1,
               rpb: Optional[Tensor] = None, attn_drop: float = 0.0, training: bool = False) -> Tensor:
        """See :func:`na2d`."""
        if q.dim() != 5 or k.shape != q.shape or v.shape[:4] != q.shape[:4]:
            raise ValueError(f"q, k, v must be [B, nh, H, W, hd] with equal shapes, got {list(q.shape)}, "
                             f"{list(k.shape)}, {list(v.shape)}")
        b, nh, height, width, _ = q.shape
        graph, rel = neighborhood_graph(height, width, kernel_size, dilation, q.device)
        if rpb is not None:
            expected = (nh, 2 * kernel_size - 1, 2 * kernel_size - 1)
            if tuple(rpb.shape) != expected:
                raise ValueError(f"rpb must have shape {list(expected)}, got {list(rpb.shape)}")

        def nodes(t: Tensor) -> Tensor:  # [B, nh, H, W, c] -> [H W, B nh, c]: batch and heads become graph heads
            return t.permute(2, 3, 0, 1, 4).reshape(height * width, b * nh, t.size(-1))

        A = self.adjacency(graph)
        scores = self.edge_updater(A, q=nodes(q), k=nodes(k), rpb=rpb, rel=rel, batch=b)  # [E, B nh]
        alpha = F.dropout(A.edge_softmax(scores), p=attn_drop, training=training)
        out = self.propagate(A, x=nodes(v), alpha=alpha)  # [H W, B nh, hd]
        return out.view(height, width, b, nh, -1).permute(2, 3, 0, 1, 4)

    def edge_update(self, adj: Adjacency, q: Tensor, k: Tensor, rpb: Optional[Tensor], rel: Tensor,
                    batch: int) -> Tensor:
        """``q_i . k_j`` per edge and head, plus the bias of the edge's relative position."""
        scores = adj.sddmm(q, k, op="dot")  # [E, B nh]
        if rpb is None:
            return scores
        nh = rpb.size(0)
        bias = rpb.reshape(nh, -1).t().index_select(0, rel)  # [E, nh]
        return (scores.view(-1, batch, nh) + bias.unsqueeze(1)).view(-1, batch * nh)

    def message_and_aggregate(self, adj: Adjacency, x: Tensor, alpha: Tensor) -> Tensor:
        return adj.spmm(x, alpha)

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        """The unfused twin (``fuse=False``)."""
        return x_j * alpha.unsqueeze(-1)


_WINDOW = WindowAttention()


def na2d(
    q: Tensor, k: Tensor, v: Tensor, kernel_size: int, dilation: int = 1, rpb: Optional[Tensor] = None,
    attn_drop: float = 0.0, training: bool = False,
) -> Tensor:
    r"""Neighbourhood attention on ``[B, nh, H, W, hd]`` tensors (NATTEN's layout; ``q`` already scaled).

    .. math:: o_{p} = \sum_{p' \in \mathcal W_k^d(p)} \operatorname{softmax}_{p'}\big(q_p^\top k_{p'}
              + b_{p' - p}\big)\, v_{p'}

    computed as ``sddmm`` -> ``edge_softmax`` -> multi-head ``spmm`` over :func:`neighborhood_graph`
    (:class:`WindowAttention`).

    Shapes:
        q, k, v: ``(B, nh, H, W, hd)``; rpb: ``(nh, 2k-1, 2k-1)``; output ``(B, nh, H, W, hd)``.
    """
    return _WINDOW.window(q, k, v, kernel_size, dilation, rpb, attn_drop, training)


class NeighborhoodAttention2d(WindowAttention):
    r"""Multi-head 2-D (dilated) neighbourhood attention with relative position bias, NATTEN-compatible.

    .. math::
        [q, k, v] = x W_{qkv}, \qquad
        o_p^h = \sum_{p' \in \mathcal W_k^d(p)} \operatorname{softmax}_{p'}
            \big(\tfrac{q_p^h \cdot k_{p'}^h}{\sqrt{d_h}} + B^h_{p' - p}\big) v_{p'}^h, \qquad
        y = [o^1 \Vert \dots \Vert o^{n_h}] W_{proj}

    where :math:`\mathcal W_k^d(p)` is the ``k x k`` window with dilation ``d`` around ``p``, shifted inward at
    borders (see the module docstring), and :math:`B^h` a learnable ``(2k-1) x (2k-1)`` table per head.
    Parameter names follow NATTEN's ``NeighborhoodAttention2D`` (``qkv``, ``rpb``, ``proj``).

    Args:
        dim: channels ``C`` (divisible by ``num_heads``). num_heads: ``n_h``. kernel_size: odd ``k``.
        dilation: ``d``. bias: learn the relative position bias ``rpb``. qkv_bias: bias in ``qkv``.
        qk_scale: logit scale (default ``d_h^{-1/2}``). attn_drop, proj_drop: dropout on weights and output.
        channels_last: input/output layout: ``True`` for ``[B, H, W, C]`` (NATTEN's), ``False`` for
            ``[B, C, H, W]`` (convolution layout).

    Shapes:
        - input: ``(B, H, W, C)`` if ``channels_last`` else ``(B, C, H, W)``; ``H, W >= k d``
        - output: same shape and layout as the input

    >>> na = NeighborhoodAttention2d(8, num_heads=2, kernel_size=3)
    >>> na(torch.randn(2, 5, 6, 8)).shape
    torch.Size([2, 5, 6, 8])
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kernel_size: int,
        dilation: int = 1,
        bias: bool = True,
        qkv_bias: bool = True,
        qk_scale: Optional[float] = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        if num_heads < 1 or dim % num_heads != 0:
            raise ValueError(f"dim must be divisible by num_heads, got dim={dim}, num_heads={num_heads}")
        check_window(kernel_size * dilation, kernel_size * dilation, kernel_size, dilation)
        self.dim, self.num_heads, self.kernel_size, self.dilation = dim, num_heads, kernel_size, dilation
        self.head_dim = dim // num_heads
        self.scale = qk_scale or self.head_dim ** -0.5
        self.channels_last = channels_last
        self.qkv = torch.nn.Linear(dim, dim * 3, bias=qkv_bias)
        if bias:
            self.rpb = torch.nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
            torch.nn.init.trunc_normal_(self.rpb, std=0.02, a=-2.0, b=2.0)
        else:
            self.register_parameter("rpb", None)
        self.attn_drop = attn_drop
        self.proj = torch.nn.Linear(dim, dim)
        self.proj_drop = torch.nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"x must be 4-D ([B, H, W, C] or [B, C, H, W]), got shape {list(x.shape)}")
        if not self.channels_last:
            x = x.permute(0, 2, 3, 1)
        b, height, width, c = x.shape
        if c != self.dim:
            raise ValueError(f"x has {c} channels but the layer was built with dim={self.dim}")
        qkv = self.qkv(x).reshape(b, height, width, 3, self.num_heads, self.head_dim).permute(3, 0, 4, 1, 2, 5)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        out = self.window(q, k, v, self.kernel_size, self.dilation, self.rpb, self.attn_drop, self.training)
        out = self.proj_drop(self.proj(out.permute(0, 2, 3, 1, 4).reshape(b, height, width, c)))
        return out if self.channels_last else out.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, kernel_size={self.kernel_size}, dilation={self.dilation}"
