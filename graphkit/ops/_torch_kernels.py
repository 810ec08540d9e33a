"""Pure-torch versions of the four kernel primitives (the fallback when ``graphkit._C`` is absent or forced off).

Each has exactly the contract of its compiled twin in ``kernels/`` (see ``_kernels.py``), so the autograd code
above them is shared. They materialise per-edge messages (E x F), which the compiled kernels never do.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ["csr_reduce", "sddmm", "softmax_fwd", "softmax_bwd", "rows_of"]


def rows_of(rowptr: Tensor) -> Tensor:
    """Row id of every CSR position: ``[E]`` int64 (the COO row array)."""
    num_rows = rowptr.numel() - 1
    deg = rowptr[1:] - rowptr[:-1]
    e = int(rowptr[-1]) if rowptr.numel() else 0  # rowptr[0] is 0 for every CSR the ops build
    ar = torch.arange(num_rows, device=rowptr.device)
    return torch.repeat_interleave(ar, deg.long(), output_size=e)


def _messages(col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, e: int) -> Tensor:
    msg = x.index_select(0, col.long()) if col is not None else x[:e]
    if weight is not None:
        w = weight.index_select(0, eid.long()) if eid is not None else weight[:e]
        msg = msg * w.unsqueeze(-1)
    return msg


def csr_reduce(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str
) -> Tuple[Tensor, Tensor]:
    num_rows = rowptr.numel() - 1
    row = rows_of(rowptr)
    e = row.numel()
    msg = _messages(col, eid, weight, x, e)
    out = x.new_zeros((num_rows,) + tuple(x.shape[1:]))
    if reduce in ("sum", "mean"):
        out.index_add_(0, row, msg)
        if reduce == "mean":
            deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).to(x.dtype)
            out = out / deg.view(-1, *([1] * (x.dim() - 1)))
        return out, torch.empty(0, dtype=torch.long, device=x.device)
    idx = row.view(-1, *([1] * (x.dim() - 1))).expand_as(msg)
    out.scatter_reduce_(0, idx, msg, "amax" if reduce == "max" else "amin", include_self=False)
    # The first CSR position that attains the extreme is the arg (ties go to the earliest edge, like the kernel).
    pos = torch.arange(e, device=x.device).view(-1, *([1] * (x.dim() - 1))).expand_as(msg)
    hit = torch.where(msg == out.index_select(0, row), pos, torch.full_like(pos, e))
    arg = torch.full(out.shape, e, dtype=torch.long, device=x.device)
    arg.scatter_reduce_(0, idx, hit, "amin", include_self=True)
    arg[arg == e] = -1
    return out, arg


def sddmm(rowptr: Tensor, col: Tensor, eid: Optional[Tensor], a: Tensor, b: Tensor, op: str) -> Tensor:
    row = rows_of(rowptr)
    at, bs = a.index_select(0, row), b.index_select(0, col.long())
    val = (at * bs).sum(-1) if op == "dot" else (at + bs if op == "add" else at * bs)
    if eid is None:
        return val
    out = torch.empty_like(val)
    out[eid.long()] = val
    return out


def softmax_fwd(rowptr: Tensor, eid: Optional[Tensor], scores: Tensor) -> Tensor:
    row = rows_of(rowptr)
    s = scores.index_select(0, eid.long()) if eid is not None else scores
    num_rows = rowptr.numel() - 1
    idx = row.view(-1, 1).expand_as(s)
    mx = s.new_full((num_rows, s.size(1)), float("-inf")).scatter_reduce_(0, idx, s, "amax", include_self=True)
    ex = (s - mx.index_select(0, row)).exp()
    den = s.new_zeros((num_rows, s.size(1))).index_add_(0, row, ex)
    y = ex / den.index_select(0, row)
    if eid is None:
        return y
    out = torch.empty_like(y)
    out[eid.long()] = y
    return out


def softmax_bwd(rowptr: Tensor, eid: Optional[Tensor], y: Tensor, g: Tensor) -> Tensor:
    # d softmax: grad_s = y * (g - sum_row(y * g)); order-independent, so no permutation is needed.
    row = rows_of(rowptr)
    yg = y * g
    if eid is not None:
        yg_sorted = yg.index_select(0, eid.long())
        dot = yg.new_zeros((rowptr.numel() - 1, y.size(1))).index_add_(0, row, yg_sorted)
        per_edge = torch.empty_like(y)
        per_edge[eid.long()] = dot.index_select(0, row)
    else:
        dot = yg.new_zeros((rowptr.numel() - 1, y.size(1))).index_add_(0, row, yg)
        per_edge = dot.index_select(0, row)
    return yg - y * per_edge
