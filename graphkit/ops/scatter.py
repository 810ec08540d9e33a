"""Reduce rows of ``src`` into groups: by an index per row (``scatter``) or by CSR offsets (``segment``)."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops.adjacency import build_csr
from graphkit.ops._checks import (check_bounds, check_first_order, check_float, check_index, check_reduce,
                                   check_same_device, check_size)
from graphkit.ops._torch_kernels import rows_of

__all__ = ["scatter", "segment"]


class _GroupReduce(torch.autograd.Function):
    """``out[r] = reduce_{k in row r} src[col[k]]``; ``group[i]`` is the row that ``src[i]`` went to."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, rowptr: Tensor, col: Optional[Tensor], group: Tensor, src: Tensor, reduce: str
    ) -> Tuple[Tensor, Tensor]:
        out, arg = K.csr_reduce(rowptr, col, None, None, src, reduce)
        ctx.reduce = reduce
        ctx.save_for_backward(rowptr, col, group, src if reduce in ("max", "min") else None, arg)
        return out, arg

    @staticmethod
    def backward(ctx: Any, grad: Tensor, _grad_arg: Any) -> Tuple[Any, ...]:  # type: ignore[override]
        rowptr, col, group, src, arg = ctx.saved_tensors
        grad = grad.contiguous()
        if ctx.reduce in ("max", "min"):
            # sum/mean below are torch ops, so their gradient can be differentiated again; this kernel cannot
            check_first_order(f"graphkit.ops.scatter/segment with reduce={ctx.reduce!r}")
            return None, None, None, K.arg_backward(col, None, None, src, arg, grad, True, False)[0], None
        if ctx.reduce == "mean":
            # in float32 at least: a float16 degree above 65504 is inf (and would zero the gradient)
            deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).to(torch.promote_types(grad.dtype, torch.float32))
            grad = (grad / deg.view(-1, 1, 1)).to(grad.dtype)
        return None, None, None, grad.index_select(0, group), None


def _as3(src: Tensor) -> Tensor:
    return src.reshape(src.size(0), 1, math.prod(src.shape[1:])).contiguous()  # explicit: -1 fails on 0 rows


def _finish(out: Tensor, arg: Tensor, src: Tensor, col: Optional[Tensor], reduce: str, return_arg: bool):
    out = out.view((out.size(0),) + tuple(src.shape[1:]))
    if not return_arg:
        return out
    if reduce not in ("max", "min"):
        raise ValueError(f"return_arg=True needs reduce 'max' or 'min', got {reduce!r}")
    if col is not None and col.numel():  # CSR positions -> positions in src (no edges: every arg is -1)
        arg = torch.where(arg >= 0, col.long()[arg.clamp(min=0)], arg)
    return out, arg.view_as(out)


def scatter(
    src: Tensor, index: Tensor, dim_size: Optional[int] = None, reduce: str = "sum", return_arg: bool = False
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    r"""Reduce the rows of ``src`` that share an index: ``out[i] = reduce_{j : index[j] = i} src[j]`` (dim 0).

    Empty groups give 0. With ``return_arg`` and max/min, also the row of ``src`` chosen per element (-1 when
    empty); ties go to the first row.

    Args:
        src: ``[E, *]`` values. index: ``[E]`` int64/int32 group of each row. dim_size: number of groups
        (default ``index.max() + 1``). reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Shapes:
        src ``(E, *)``, index ``(E,)`` -> ``(dim_size, *)``.

    >>> scatter(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 2, 0]), reduce="max")
    tensor([4., 0., 2.])
    """
    check_float("src", src)
    check_reduce(reduce)
    check_index("index", index)
    check_same_device("src", src, "index", index)
    if src.dim() == 0:
        raise ValueError("src must have at least one dimension, got a 0-dim tensor")
    if index.dim() != 1 or index.size(0) != src.size(0):
        raise ValueError(f"index must have shape [{src.size(0)}] (one group per row of src), got {list(index.shape)}")
    row_bytes = src.element_size() * math.prod(src.shape[1:]) + 8  # an output row and a rowptr entry
    if dim_size is None:
        dim_size = check_size("index.max() + 1", int(index.max()) + 1 if index.numel() else 0, row_bytes)
    else:
        dim_size = check_size("dim_size", dim_size, row_bytes)
    check_bounds("index", index, dim_size, "dim_size")
    rowptr, col, _ = build_csr(index, torch.arange(index.numel(), device=index.device, dtype=index.dtype), dim_size)
    out, arg = _GroupReduce.apply(rowptr, col, index.long(), _as3(src), reduce)
    return _finish(out, arg, src, col, reduce, return_arg)


def segment(
    src: Tensor, ptr: Tensor, reduce: str = "sum", return_arg: bool = False
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    r"""Reduce consecutive runs of rows: ``out[i] = reduce_{ptr[i] <= j < ptr[i+1]} src[j]`` (CSR form).

    Args:
        src: ``[E, *]``. ptr: ``[N + 1]`` offsets, ``ptr[0] = 0``, non-decreasing, ``ptr[-1] <= E``.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``. return_arg: as in :func:`scatter`.

    Shapes:
        src ``(E, *)``, ptr ``(N + 1,)`` -> ``(N, *)``.

    >>> segment(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 2, 2, 3]))
    tensor([3., 0., 4.])
    """
    check_float("src", src)
    check_reduce(reduce)
    check_index("ptr", ptr)
    check_same_device("src", src, "ptr", ptr)
    if src.dim() == 0:
        raise ValueError("src must have at least one dimension, got a 0-dim tensor")
    if ptr.dim() != 1 or ptr.numel() == 0:
        raise ValueError(f"ptr must have shape [N + 1], got {list(ptr.shape)}")
    first, last = int(ptr[0]), int(ptr[-1])
    if first != 0:
        raise ValueError(f"ptr[0] must be 0, got {first}")
    if last > src.size(0):
        raise ValueError(f"ptr[-1] is {last} but src has {src.size(0)} rows")
    if ptr.numel() > 1 and bool((ptr[1:] < ptr[:-1]).any()):
        raise ValueError("ptr must be non-decreasing")
    out, arg = _GroupReduce.apply(ptr, None, rows_of(ptr), _as3(src[:last]), reduce)
    return _finish(out, arg, src, None, reduce, return_arg)
