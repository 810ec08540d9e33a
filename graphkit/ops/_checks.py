"""Input checks of the Python face: run before any kernel, raise ValueError/TypeError naming field and value.

The compiled kernels repeat the bounds checks (``kernels/include/validate.h``) so a direct ``torch.ops.graphkit``
call cannot read out of bounds either; here the messages use the names the user passed.
"""
from __future__ import annotations

import functools
import operator
import os
from typing import Optional

import torch
from torch import Tensor

__all__ = ["check_float", "check_index", "check_bounds", "check_same_device", "check_size", "REDUCES"]

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


@functools.lru_cache(maxsize=None)
def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no machine bound, only the representable one
        return 2**63 - 1


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"


def check_size(name: str, value: object, row_bytes: int = 8) -> int:
    """A node or group count, checked before anything of that size is allocated: an int, ``>= 0``, and small
    enough that ``value`` rows of ``row_bytes`` bytes fit in this machine's memory (a size of 2**40 would
    otherwise try to allocate terabytes, and 2**63 overflow inside torch). Returns it as an ``int``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}") from None
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    need, have = (v + 1) * max(int(row_bytes), 1), _memory_bytes()
    if need > have:
        raise ValueError(f"{name} is {v}: its output would need {_fmt_bytes(need)} but this machine has "
                         f"{_fmt_bytes(have)} of memory")
    return v
