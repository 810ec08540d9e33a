"""Which implementation of the kernel primitives runs: the compiled ``graphkit._C`` or pure torch.

The compiled extension registers its ops under ``torch.ops.graphkit``; importing ``graphkit._C`` is all it takes.
``GRAPHKIT_FORCE_TORCH=1`` (read at every call, so tests can flip it) or ``use_backend("torch")`` forces the
pure-torch path; CUDA tensors use the CUDA kernels only when the extension was built with them.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Optional

import torch

__all__ = ["backend", "use_backend", "ext_available", "use_ext", "load_error"]

_state = threading.local()
_ext_loaded: Optional[bool] = None
_load_error: Optional[str] = None
_has_cuda = False  # read once at load: a constant for torch.compile, not an op call inside every traced graph


def _load() -> bool:
    global _ext_loaded, _load_error, _has_cuda
    if _ext_loaded is None:
        if os.environ.get("GRAPHKIT_NO_EXT", "") not in ("", "0"):
            _ext_loaded, _load_error = False, "GRAPHKIT_NO_EXT is set"
            return False
        try:
            import graphkit._C  # noqa: F401  (registers torch.ops.graphkit.*)

            _ext_loaded = hasattr(torch.ops.graphkit, "csr_reduce")
            if _ext_loaded:
                from graphkit.ops import _fake

                _fake.register()  # shapes for torch.compile / FakeTensor: no graph break at the kernels
                _has_cuda = bool(torch.ops.graphkit.has_cuda())
        except (ImportError, OSError) as exc:  # not built, or built against another torch
            _ext_loaded, _load_error = False, f"{type(exc).__name__}: {exc}"
    return _ext_loaded


def load_error() -> Optional[str]:
    """Why ``graphkit._C`` did not load (``None`` when it did)."""
    _load()
    return _load_error


def ext_available(device: Optional[torch.device] = None) -> bool:
    """The extension is loaded and has kernels for ``device`` (CPU by default)."""
    if not _load():
        return False
    if device is not None and device.type == "cuda":
        return _has_cuda
    return device is None or device.type == "cpu"


def _forced_torch() -> bool:
    forced = getattr(_state, "forced", None)
    if forced is not None:
        return forced == "torch"
    return os.environ.get("GRAPHKIT_FORCE_TORCH", "") not in ("", "0")


# Dtypes the compiled kernels take; anything else (e.g. half on CPU) runs the torch path.
_CPU_DTYPES = (torch.float32, torch.float64)
_CUDA_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def use_ext(x: torch.Tensor) -> bool:
    """Should an op whose main operand is ``x`` call the compiled kernels?"""
    if _forced_torch() or not ext_available(x.device):
        return False
    return x.dtype in (_CUDA_DTYPES if x.is_cuda else _CPU_DTYPES)


def backend(device: Optional[torch.device] = None) -> str:
    """``"cpu-ext"``, ``"cuda-ext"`` or ``"torch"``: the path an op on ``device`` (default CPU) takes."""
    device = torch.device("cpu") if device is None else torch.device(device)
    if _forced_torch() or not ext_available(device):
        return "torch"
    return "cuda-ext" if device.type == "cuda" else "cpu-ext"


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Force ``"torch"`` (the fallback) or ``"ext"`` (default dispatch) inside a ``with`` block (per thread)."""
    if name not in ("torch", "ext"):
        raise ValueError(f"backend must be 'torch' or 'ext', got {name!r}")
    old = getattr(_state, "forced", None)
    _state.forced = name
    try:
        yield
    finally:
        _state.forced = old


# Load now, not at the first op: a first op inside torch.compile would otherwise trace the import and the
# fake-kernel registration (both untraceable).
_load()
