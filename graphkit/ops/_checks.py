"""Input checks of the Python face: run before any kernel, raise ValueError/TypeError naming field and value.

The compiled kernels repeat the bounds checks (``kernels/include/checks.h``) so a direct ``torch.ops.graphkit``
call cannot read out of bounds either; here the messages use the names the user passed.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["check_float", "check_index", "check_bounds", "check_same_device", "REDUCES"]

REDUCES = ("sum", "mean", "max", "min")
_INDEX_DTYPES = (torch.int64, torch.int32)


def check_float(name: str, t: object) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    return t


def check_index(name: str, t: object) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in _INDEX_DTYPES:
        raise TypeError(f"{name} must be an int64 or int32 tensor, got dtype {t.dtype}")
    return t


def check_bounds(name: str, index: Tensor, size: int, what: str) -> None:
    """Every entry of ``index`` in ``[0, size)``; ``what`` names the bound (``"num_nodes"``)."""
    if index.numel() == 0:
        return
    lo, hi = torch.aminmax(index)
    lo_i, hi_i = int(lo), int(hi)  # one sync for both
    if lo_i < 0:
        raise ValueError(f"{name} has negative index {lo_i}")
    if hi_i >= size:
        raise ValueError(f"{name} has index {hi_i} but {what} is {size}")


def check_same_device(ref_name: str, ref: Tensor, name: str, t: Optional[Tensor]) -> None:
    if t is not None and t.device != ref.device:
        raise ValueError(f"{name} is on {t.device} but {ref_name} is on {ref.device}")


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCES:
        raise ValueError(f"reduce must be one of {REDUCES}, got {reduce!r}")
    return reduce
