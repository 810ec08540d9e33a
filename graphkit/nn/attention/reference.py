r"""Two independent references for 2-D neighbourhood attention (test oracles and benchmark baselines).

Both use NATTEN's own index arithmetic (``get_window_start`` / ``get_pb_start`` of NATTEN's reference
kernels, transcribed literally), not the sub-grid clamp that :mod:`~graphkit.nn.attention.neighborhood`
derives, so agreement between the three is a real check of the window definition at borders and with dilation.

* :func:`na2d_dense`: full ``[HW, HW]`` attention logits with every key outside the query's window masked to
  ``-inf`` (memory ``O(B nh (HW)^2)``).
* :func:`na2d_unfold`: the sliding-window definition: ``F.unfold`` cuts every valid ``k x k`` (dilated) window
  of the key and value maps, and each query picks the window that starts at its (shifted) window start
  (memory ``O(B C k^2 HW)``).

Layouts as :func:`~graphkit.nn.attention.neighborhood.na2d`: ``q, k, v`` are ``[B, nh, H, W, hd]``, ``q`` is
already scaled, ``rpb`` is ``[nh, 2k-1, 2k-1]``.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["window_start", "bias_start", "na2d_dense", "na2d_unfold"]


def window_start(index: int, length: int, kernel_size: int, dilation: int) -> int:
    """NATTEN's ``get_window_start``: first key position of the window of query ``index``."""
    ns = kernel_size // 2
    if dilation <= 1:
        return max(index - ns, 0) + (index + ns >= length) * (length - index - ns - 1)
    ni = index - ns * dilation
    if ni < 0:
        return index % dilation
    if index + ns * dilation >= length:
        imodd = index % dilation
        a = (length // dilation) * dilation
        b = length - a
        if imodd < b:
            return length - b + imodd - 2 * ns * dilation
        return a + imodd - kernel_size * dilation
    return ni


def bias_start(index: int, length: int, kernel_size: int, dilation: int) -> int:
    """NATTEN's ``get_pb_start``: slot in the ``2k-1`` bias axis of the window's first key."""
    ns = kernel_size // 2
    if dilation <= 1:
        return ns + (index < ns) * (ns - index) + (index + ns >= length) * (length - index - 1 - ns)
    if index - ns * dilation < 0:
        return kernel_size - 1 - (index // dilation)
    if index + ns * dilation >= length:
        return (length - index - 1) // dilation
    return ns


def _starts(length: int, kernel_size: int, dilation: int, fn: object) -> Tensor:
    return torch.tensor([fn(i, length, kernel_size, dilation) for i in range(length)])  # type: ignore[operator]


def na2d_dense(
    q: Tensor, k: Tensor, v: Tensor, kernel_size: int, dilation: int = 1, rpb: Optional[Tensor] = None
) -> Tensor:
    """Neighbourhood attention as dense attention with a window mask (and the bias scattered into ``[HW, HW]``)."""
    b, nh, height, width, hd = q.shape
    ks, d = kernel_size, dilation
    a = torch.arange(ks)
    rows = _starts(height, ks, d, window_start)[:, None] + a * d  # [H, k] key rows of each query row
    cols = _starts(width, ks, d, window_start)[:, None] + a * d
    brow = _starts(height, ks, d, bias_start)[:, None] + a  # [H, k] bias slots
    bcol = _starts(width, ks, d, bias_start)[:, None] + a
    n = height * width
    qi = torch.arange(n).view(height, width, 1, 1).expand(height, width, ks, ks)
    kj = (rows[:, None, :, None] * width + cols[None, :, None, :]).expand(height, width, ks, ks)
    logits = q.reshape(b, nh, n, hd) @ k.reshape(b, nh, n, hd).transpose(-1, -2)  # [B, nh, HW, HW]
    bias = torch.full((nh, n, n), float("-inf"), dtype=q.dtype)
    if rpb is None:
        bias[:, qi.reshape(-1), kj.reshape(-1)] = 0.0
    else:
        slots = rpb[:, brow[:, None, :, None], bcol[None, :, None, :]]  # [nh, H, W, k, k]
        bias[:, qi.reshape(-1), kj.reshape(-1)] = slots.reshape(nh, -1).to(q.dtype)
    attn = torch.softmax(logits + bias.to(q.device), dim=-1)
    return (attn @ v.reshape(b, nh, n, -1)).view(b, nh, height, width, -1)


def na2d_unfold(
    q: Tensor, k: Tensor, v: Tensor, kernel_size: int, dilation: int = 1, rpb: Optional[Tensor] = None
) -> Tensor:
    """Neighbourhood attention by the sliding-window definition, with ``F.unfold`` cutting the windows."""
    b, nh, height, width, hd = q.shape
    ks, d = kernel_size, dilation
    sr = _starts(height, ks, d, window_start).to(q.device)  # each query's window's top-left key
    sc = _starts(width, ks, d, window_start).to(q.device)
    nwr, nwc = height - (ks - 1) * d, width - (ks - 1) * d  # number of valid window positions per axis

    def windows(t: Tensor) -> Tensor:  # [B, nh, H, W, c] -> [B nh, c, k k, H, W]: the window each query sees
        c = t.size(-1)
        flat = t.permute(0, 1, 4, 2, 3).reshape(b * nh * c, 1, height, width)
        unf = F.unfold(flat, kernel_size=ks, dilation=d).view(b * nh, c, ks * ks, nwr, nwc)
        return unf[:, :, :, sr][:, :, :, :, sc]

    qt = q.permute(0, 1, 4, 2, 3).reshape(b * nh, hd, 1, height, width)
    logits = (qt * windows(k)).sum(1).view(b, nh, ks * ks, height, width)
    if rpb is not None:
        a = torch.arange(ks, device=q.device)
        brow = _starts(height, ks, d, bias_start).to(q.device)[:, None] + a  # [H, k]
        bcol = _starts(width, ks, d, bias_start).to(q.device)[:, None] + a  # [W, k]
        slots = rpb[:, brow[:, None, :, None], bcol[None, :, None, :]]  # [nh, H, W, k, k]
        logits = logits + slots.permute(0, 3, 4, 1, 2).reshape(1, nh, ks * ks, height, width)
    attn = torch.softmax(logits, dim=2).view(b * nh, 1, ks * ks, height, width)
    out = (attn * windows(v)).sum(2)  # [B nh, hd, H, W]
    return out.view(b, nh, -1, height, width).permute(0, 1, 3, 4, 2)
