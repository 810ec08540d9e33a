r"""Performer attention (Choromanski et al. 2021, "Rethinking Attention with Performers"): softmax-free attention
through a random feature map, linear in the number of nodes, laid out as PyG's ``PerformerAttention``.

.. math::
    \phi(u) = \mathrm{kernel}(P u) + \epsilon, \qquad
    o_i = \frac{\phi(q_i)^\top \sum_j \phi(k_j)\, v_j^\top}{\phi(q_i)^\top \sum_j \phi(k_j)}

per head, with :math:`P \in \mathbb{R}^{m \times d_h}` (:math:`m = \lfloor d_h \ln d_h \rfloor`) stacked blocks
of random orthogonal rows (a buffer, redrawn by :meth:`PerformerAttention.redraw_projection_matrix`), ``kernel``
ReLU by default and :math:`\epsilon = 10^{-3}`. The sums run over the ``maxN`` rows of a padded ``[B, maxN, C]``
block with padded values zeroed; as in PyG, padded keys still add :math:`\phi(k)` to the normaliser, so a graph's
output depends on the batch's largest graph (kept for state_dict and output parity with PyG's ``GPSConv``).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor
from torch.nn import Dropout, Linear

__all__ = ["PerformerAttention", "random_orthogonal_rows"]

_EPS = 1e-3


def random_orthogonal_rows(rows: int, cols: int) -> Tensor:
    """``[rows, cols]``: blocks of ``cols`` orthonormal rows (the Q of a Gaussian matrix's QR), the last truncated."""
    blocks = []
    for start in range(0, rows, cols):
        q = torch.linalg.qr(torch.randn(cols, cols))[0].t()
        blocks.append(q[: min(cols, rows - start)])
    return torch.cat(blocks) if blocks else torch.zeros(0, cols)


class _Projection(torch.nn.Module):
    """Holds the random projection as ``fast_attn.projection_matrix``, the state_dict key PyG's layer has."""

    def __init__(self, head_channels: int) -> None:
        super().__init__()
        self.num_rows, self.num_cols = int(head_channels * math.log(head_channels)), head_channels
        self.register_buffer("projection_matrix", random_orthogonal_rows(self.num_rows, self.num_cols))


class PerformerAttention(torch.nn.Module):
    r"""Performer self-attention over padded graphs (see the module docstring for the formula).

    Args:
        channels: ``C``. heads: attention heads. head_channels: :math:`d_h` per head (PyG's default 64).
        kernel: the feature map's nonlinearity (ReLU). qkv_bias: biases on the q, k, v projections.
        attn_out_bias: bias on the output projection. dropout: dropout on the output.

    Shapes:
        - x: ``(B, maxN, C)`` padded graphs; mask: ``(B, maxN)`` (``True`` at real nodes) or ``None``
        - output: ``(B, maxN, C)``

    >>> attn = PerformerAttention(8, heads=2, head_channels=4)
    >>> attn(torch.randn(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 5, 8])
    """

    def __init__(self, channels: int, heads: int, head_channels: int = 64,
                 kernel: Callable[[Tensor], Tensor] = torch.nn.ReLU(), qkv_bias: bool = False,
                 attn_out_bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ValueError(f"channels must be divisible by heads, got channels={channels}, heads={heads}")
        head_channels = channels // heads if head_channels is None else head_channels
        if head_channels < 2:
            raise ValueError(f"head_channels must be at least 2 (the feature map has d ln d rows), got {head_channels}")
        self.heads, self.head_channels, self.kernel = heads, head_channels, kernel
        self.fast_attn = _Projection(head_channels)
        inner = heads * head_channels
        self.q = Linear(channels, inner, bias=qkv_bias)
        self.k = Linear(channels, inner, bias=qkv_bias)
        self.v = Linear(channels, inner, bias=qkv_bias)
        self.attn_out = Linear(inner, channels, bias=attn_out_bias)
        self.dropout = Dropout(dropout)

    def _features(self, u: Tensor) -> Tensor:
        return self.kernel(u @ self.fast_attn.projection_matrix.t()) + _EPS

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        b, n, _ = x.shape
        q, k, v = (lin(x).view(b, n, self.heads, self.head_channels).transpose(1, 2) for lin in (self.q, self.k, self.v))
        if mask is not None:
            v = v * mask[:, None, :, None]
        qf, kf = self._features(q), self._features(k)  # [B, H, maxN, m]
        num = qf @ (kf.transpose(-2, -1) @ v)  # [B, H, maxN, d_h]: never a maxN x maxN matrix
        den = qf @ kf.sum(-2).unsqueeze(-1)  # [B, H, maxN, 1]
        out = (num / den).transpose(1, 2).reshape(b, n, self.heads * self.head_channels)
        return self.dropout(self.attn_out(out))

    @torch.no_grad()
    def redraw_projection_matrix(self) -> None:
        """Draw a fresh random projection (the paper redraws it now and then during training)."""
        p = self.fast_attn.projection_matrix
        p.copy_(random_orthogonal_rows(self.fast_attn.num_rows, self.fast_attn.num_cols).to(p))

    def _reset_parameters(self) -> None:  # the name GPSConv (and PyG's) calls on its attention module
        for lin in (self.q, self.k, self.v, self.attn_out):
            lin.reset_parameters()
        self.redraw_projection_matrix()

    def extra_repr(self) -> str:
        return f"heads={self.heads}, head_channels={self.head_channels}, kernel={self.kernel}"
