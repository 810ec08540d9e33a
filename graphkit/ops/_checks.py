"""Input checks of the Python face: run before any kernel, raise ValueError/TypeError naming field and value.

The compiled kernels repeat the bounds checks (``kernels/include/validate.h``) so a direct ``torch.ops.graphkit``
call cannot read out of bounds either; here the messages use the names the user passed.
"""
from __future__ import annotations

import operator
import os
from typing import Optional

import torch
from torch import Tensor

__all__ = [
    "check_float",
    "check_index",
    "check_bounds",
    "check_range",
    "check_same_device",
    "check_size",
    "check_positive_int",
    "check_act",
    "REDUCES",
]

REDUCES = ("sum", "mean", "max", "min")
_INDEX_DTYPES = (torch.int64, torch.int32)


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``, else a ``ValueError`` naming ``name`` and the value (``bool`` is refused:
    ``True`` is an int to Python but never a size a user meant)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def check_act(act: object) -> None:
    """The activations a fused epilogue or in-place layer output can apply: ``None`` or ``"relu"``."""
    if act not in (None, "relu"):
        raise ValueError(f"act must be None or 'relu', got {act!r}")


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


def check_bounds(name: str, index: Tensor, size: Optional[int], what: str = "num_nodes",
                 per_row: bool = False) -> None:
    """Every entry of ``index`` in ``[0, size)`` (``size=None``: only non-negative); ``what`` names the bound.

    The one bounds check of the package, with the one wording: ``edge_index[1] has index 17 but num_nodes is 12``.
    ``per_row`` checks each row of a ``[R, ...]`` index separately and names it ``name[r]`` (one sync in all).
    """
    if index.numel() == 0:
        return
    if per_row:
        flat = index.reshape(index.size(0), -1)
        lo, hi = flat.min(dim=1).values.tolist(), flat.max(dim=1).values.tolist()  # one sync for all rows
        names = [f"{name}[{r}]" for r in range(flat.size(0))]
    else:
        lo_t, hi_t = torch.aminmax(index)
        lo, hi = [int(lo_t)], [int(hi_t)]  # one sync for both
        names = [name]
    for where, lo_i, hi_i in zip(names, lo, hi):
        check_range(where, lo_i, hi_i, size, what)


def check_range(where: str, lo: int, hi: int, size: Optional[int], what: str = "num_nodes") -> None:
    """Raise the bounds error for an index whose smallest entry is ``lo`` and largest ``hi``."""
    if lo < 0:
        raise ValueError(f"{where} has negative index {lo}")
    if size is not None and hi >= size:
        raise ValueError(f"{where} has index {hi} but {what} is {size}")


def check_same_device(ref_name: str, ref: Tensor, name: str, t: Optional[Tensor]) -> None:
    if t is not None and t.device != ref.device:
        raise ValueError(f"{name} is on {t.device} but {ref_name} is on {ref.device}")


def check_first_order(op: str) -> None:
    """Called at the top of a hand-written backward whose kernels have no derivative of their own. Under
    ``backward(create_graph=True)`` (grad mode is on inside backward exactly then) the engine would treat those
    kernels as constants and a second derivative would come out as silent zeros; refuse it instead."""
    if torch.is_grad_enabled():
        raise RuntimeError(f"cannot differentiate twice through {op}: its backward is a first-order kernel "
                           "(backward/autograd.grad with create_graph=True is not supported through it)")


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCES:
        raise ValueError(f"reduce must be one of {REDUCES}, got {reduce!r}")
    return reduce


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no machine bound, only the representable one
        return 2**63 - 1


# Read once at import: a constant for torch.compile (os.sysconf cannot be traced).
_MEMORY_BYTES = _memory_bytes()


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
    need, have = (v + 1) * max(int(row_bytes), 1), _MEMORY_BYTES
    if need > have:
        raise ValueError(f"{name} is {v}: its output would need {_fmt_bytes(need)} but this machine has "
                         f"{_fmt_bytes(have)} of memory")
    return v
