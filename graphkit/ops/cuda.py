"""How the CUDA kernels report bad input, and how many host syncs that costs.

The CUDA ops check every index they read inside the kernel (``kernels/cuda/common.cuh``): a bad ``col``,
``eid``, ``rowptr`` or ``arg`` is never dereferenced; the kernel records the first one in a small device-side
error flag. By default each op then reads that flag once, so a bad call raises the same ``ValueError`` as on the
CPU, at the call, for the price of **one** device-to-host sync per op (``csr_reduce``, ``sddmm``,
``edge_softmax_fwd/bwd``, ``arg_scatter``; the launches themselves need none).

In :func:`deferred_checks` no op reads the flag: the ops make **no** host sync, the host runs ahead of the GPU
and the step can be captured in a CUDA graph. Errors are raised when the block exits (or by
:func:`raise_pending`); results computed after a bad index are meaningless but no memory outside the tensors is
ever touched.

>>> from graphkit.ops import cuda
>>> cuda.available() in (True, False)
True
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Union

import torch

from graphkit.ops._backend import ext_available

__all__ = ["available", "sync_checks", "deferred_checks", "raise_pending"]


def available() -> bool:
    """``graphkit._C`` was built with its CUDA kernels and a GPU is present."""
    return torch.cuda.is_available() and ext_available(torch.device("cuda"))


def sync_checks(enable: bool) -> bool:
    """Read the error flag after every op (``True``, the default) or never (``False``); returns the old mode."""
    if not available():
        return True
    return bool(torch.ops.graphkit.cuda_sync_checks(bool(enable)))


def raise_pending(device: Union[int, str, torch.device, None] = None) -> None:
    """Raise the first bad index any CUDA op recorded on ``device`` (default: the current one) since the last
    check, as a ``ValueError``; one sync."""
    if not available():
        return
    dev = torch.device("cuda", torch.cuda.current_device()) if device is None else torch.device(device)
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    torch.ops.graphkit.cuda_raise_pending(index)


@contextlib.contextmanager
def deferred_checks(device: Optional[Union[int, str, torch.device]] = None) -> Iterator[None]:
    """No host sync inside the block; bad indices are raised when it exits (the mode is process-wide)."""
    old = sync_checks(False)
    try:
        yield
    finally:
        sync_checks(old)
    raise_pending(device)
