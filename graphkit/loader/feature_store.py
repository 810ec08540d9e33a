"""``FeatureStore``: node features kept once, read by row, never copied whole.

Following "Large Graph Convolutional Network Training with GPU-Oriented Data Communication Architecture"
(PyTorch-Direct): the features live in pinned host memory (when CUDA exists) or in a memory-mapped ``.npy``
for data larger than RAM, and a mini-batch reads only its rows.

* CPU path: ``gather(index, out)`` is a multithreaded row copy (``torch.ops.graphkit.gather_rows``, GIL
  released) into a caller-owned buffer, typically a slot of a :class:`RingBuffer` (pinned when CUDA exists),
  so nothing is allocated per batch and the prefetch thread fills the next slot while the model trains.
* GPU path: ``gather_cuda(index)`` launches kernels/cuda/gather.cu, which reads the requested rows straight
  from pinned host memory over UVA (indices sorted, warp reads aligned to 128 bytes) on a side stream: no CPU
  gather, no staging copy. It needs a CUDA build and a pinned store. ``pin=True`` page-locks the existing
  storage in place (``cudaHostRegister``): no second copy, and no rounding up to a power of two as
  ``Tensor.pin_memory()`` does (a 65 GB store would otherwise pin 128 GB).
* Memory-mapped: ``FeatureStore.from_npy(path)`` maps the file copy-on-write; only touched pages are read.

Shapes:
    storage ``[num_rows, width]``; ``gather(index [n])`` -> ``[n, width]``.

>>> import torch
>>> fs = FeatureStore(torch.arange(12.).view(4, 3))
>>> fs.gather(torch.tensor([2, 0])).tolist()
[[6.0, 7.0, 8.0], [0.0, 1.0, 2.0]]
"""
from __future__ import annotations

import mmap
import os
import threading
import warnings
import weakref
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from graphkit.loader.sampler import has_extension
from graphkit.ops import ext_available

__all__ = ["FeatureStore", "RingBuffer", "guard_host_buffers", "pin_in_place", "write_npy"]


def _cuda() -> bool:
    return torch.cuda.is_available()


# cudaHostRegister flags: Portable (every context) | Mapped (a device pointer for UVA reads).
_REGISTER_FLAGS = 1 | 2


def _unregister(ptr: int) -> None:
    torch.cuda.cudart().cudaHostUnregister(ptr)


def pin_in_place(data: Tensor, owner: object) -> Tensor:
    """Page-lock ``data``'s memory where it is (``cudaHostRegister``) for as long as ``owner`` lives.

    ``Tensor.pin_memory()`` copies into the caching host allocator, which rounds every block up to a power of
    two: twice the memory at worst, plus the pageable original during the copy. Registering in place costs
    neither. Falls back to ``pin_memory()`` (with a warning) where the driver refuses.
    """
    nbytes = data.numel() * data.element_size()
    if nbytes == 0 or data.is_pinned():
        return data
    err = torch.cuda.cudart().cudaHostRegister(data.data_ptr(), nbytes, _REGISTER_FLAGS)
    if int(err) != 0:
        warnings.warn(f"cudaHostRegister failed ({err}); copying into pinned memory instead", stacklevel=3)
        return data.pin_memory()
    weakref.finalize(owner, _unregister, data.data_ptr())
    return data


# Ring slots whose asynchronous copy to the GPU may still be reading them: slot storage -> the copy's event.
_RING_STORAGES: "weakref.WeakValueDictionary[int, RingBuffer]" = weakref.WeakValueDictionary()
_PENDING_DMA: Dict[int, "torch.cuda.Event"] = {}
_DMA_LOCK = threading.Lock()


def guard_host_buffers(tensors: Iterable[Tensor], event: "torch.cuda.Event") -> None:
    """Note that an asynchronous copy, done when ``event`` completes, reads these host tensors.

    A :class:`RingBuffer` waits for that event before handing the same slot out again, so the CPU never
    overwrites a slot whose DMA is still in flight (called by the Prefetcher after each copy).
    """
    with _DMA_LOCK:
        for t in tensors:
            if t.device.type == "cpu" and t.numel():
                ptr = t.untyped_storage().data_ptr()
                if ptr in _RING_STORAGES:
                    _PENDING_DMA[ptr] = event


def _wait_dma(slot: Tensor) -> None:
    with _DMA_LOCK:
        event = _PENDING_DMA.pop(slot.untyped_storage().data_ptr(), None)
    if event is not None:
        event.synchronize()


class FeatureStore:
    """Row-addressable node features in host memory (optionally pinned) or a memory-mapped ``.npy``.

    Args:
        data: ``[num_rows, width]`` tensor or NumPy array (a 1-D one is taken as width 1).
        pin: page-lock the storage for DMA/UVA reads; default: when CUDA is available and ``data`` is not a
            memory map.
    """

    def __init__(self, data: Union[Tensor, np.ndarray], pin: Optional[bool] = None) -> None:
        mapped = isinstance(data, np.memmap)
        if isinstance(data, np.ndarray):
            data = torch.from_numpy(data)
        if not isinstance(data, Tensor):
            raise TypeError(f"data must be a torch.Tensor or numpy.ndarray, got {type(data).__name__}")
        if data.dim() == 1:
            data = data.view(-1, 1)
        if data.dim() != 2:
            raise ValueError(f"data must be 2-D [num_rows, width], got shape {list(data.shape)}")
        if data.device.type != "cpu":
            raise ValueError(f"data must live in host memory, got device {data.device}")
        data = data.contiguous()
        if pin is None:
            pin = _cuda() and not mapped
        if pin and not data.is_pinned():
            # a memory map stays a copy (locking a larger-than-RAM file in place is not what anyone wants)
            data = data.pin_memory() if mapped else pin_in_place(data, self)
        self.data = data
        self.mapped = mapped

    @classmethod
    def from_npy(cls, path: Union[str, os.PathLike], mmap: bool = True) -> "FeatureStore":
        """Open a ``.npy`` file; with ``mmap`` (default) the rows are read from disk on demand.

        The map is copy-on-write (``mode="c"``): torch gets a writable view and the file is never modified.
        """
        if not os.path.exists(path):
            raise ValueError(f"path {os.fspath(path)!r} does not exist")
        if not mmap:
            return cls(np.load(path))
        store = cls(_map_npy(os.fspath(path)), pin=False)
        store.mapped = True
        return store

    @property
    def shape(self) -> Tuple[int, int]:
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def num_rows(self) -> int:
        return int(self.data.size(0))

    @property
    def width(self) -> int:
        return int(self.data.size(1))

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        where = "mmap" if self.mapped else ("pinned" if self.data.is_pinned() else "host")
        return f"FeatureStore(shape={list(self.data.shape)}, dtype={self.dtype}, storage={where})"

    def _index(self, index: Tensor) -> Tensor:
        if not isinstance(index, Tensor) or index.is_floating_point() or index.dtype == torch.bool:
            raise TypeError(f"index must be an integer tensor, got {getattr(index, 'dtype', type(index).__name__)}")
        return index.reshape(-1).long().cpu()

    def _check_range(self, index: Tensor) -> None:
        """Every entry of a CPU ``index`` in ``[0, num_rows)``, else ``ValueError`` naming the first bad one."""
        if index.numel():
            lo, hi = torch.aminmax(index)
            lo, hi = int(lo), int(hi)
            if lo < 0 or hi >= self.num_rows:
                bad = lo if lo < 0 else hi
                pos = int((index == bad).nonzero()[0])
                raise ValueError(f"index[{pos}] is {bad} but the store has {self.num_rows} rows")

    def gather(self, index: Tensor, out: Optional[Tensor] = None) -> Tensor:
        """``data[index]`` written into ``out`` (``[len(index), width]``, same dtype) or a new tensor."""
        index = self._index(index)
        if out is None:
            out = torch.empty(index.numel(), self.width, dtype=self.dtype)
        if has_extension("gather_rows"):
            return torch.ops.graphkit.gather_rows(self.data, index, out)
        self._check_range(index)
        if tuple(out.shape) != (index.numel(), self.width) or out.dtype != self.dtype:
            raise ValueError(
                f"out must have shape [{index.numel()}, {self.width}] and dtype {self.dtype}, "
                f"got {list(out.shape)} {out.dtype}"
            )
        return torch.index_select(self.data, 0, index, out=out)

    __getitem__ = gather

    def gather_cuda(self, index: Tensor, stream: Optional["torch.cuda.Stream"] = None) -> Tensor:
        """Zero-copy GPU gather of rows from pinned host memory (kernels/cuda/gather.cu), on ``stream``.

        ``stream`` (default: the current one) first waits for the caller's current stream, so an ``index`` (or
        anything else) the caller is still producing on the GPU is ready. The result is recorded as used by the
        caller's stream (``record_stream``), so dropping it never lets the side stream reuse its memory while
        the caller's kernels still read it. Before reading it on another stream than ``stream``, the caller
        waits: ``torch.cuda.current_stream().wait_stream(stream)`` (the Prefetcher waits on its event).
        A CPU ``index`` is range-checked on the CPU (no device sync); a CUDA one in the kernel (one sync).
        """
        if not _cuda():
            raise RuntimeError("gather_cuda needs a CUDA device; use gather() on the CPU")
        if not self.data.is_pinned():
            raise ValueError("gather_cuda reads host memory over UVA: build the store with pin=True")
        if not ext_available(torch.device("cuda")):
            raise RuntimeError("graphkit._C was built without CUDA: gather_rows_uva is not available")
        if not isinstance(index, Tensor) or index.is_floating_point() or index.dtype == torch.bool:
            raise TypeError(f"index must be an integer tensor, got {getattr(index, 'dtype', type(index).__name__)}")
        on_gpu = index.is_cuda
        if not on_gpu:
            index = self._index(index)
            self._check_range(index)
        caller = torch.cuda.current_stream(index.device if on_gpu else None)
        stream = stream or caller
        if stream != caller:
            stream.wait_stream(caller)
        with torch.cuda.stream(stream):
            idx = index.reshape(-1).long().to(stream.device, non_blocking=True)
            sorted_idx, pos = torch.sort(idx)
            out = torch.empty(idx.numel(), self.width, dtype=self.dtype, device=stream.device)
            torch.ops.graphkit.gather_rows_uva(self.data, sorted_idx, pos, out, stream.cuda_stream, on_gpu)
        if stream != caller:
            out.record_stream(caller)
        return out


def _map_npy(path: str) -> np.ndarray:
    """Map a ``.npy`` copy-on-write with ``MADV_RANDOM``.

    Without the advice, every page fault reads ahead (and maps) up to megabytes around the row it wants: a few
    hundred thousand random rows then pull in the whole file. With it, only the touched pages are read.
    """
    probe = np.load(path, mmap_mode="r")  # parses the header; numpy's own map is dropped right away
    shape, dtype, offset = probe.shape, probe.dtype, int(probe.offset)
    if probe.ndim > 1 and not probe.flags.c_contiguous:
        raise ValueError(f"{path} holds a Fortran-ordered array; save it C-ordered (np.ascontiguousarray)")
    del probe
    size = int(np.prod(shape)) * dtype.itemsize
    if size == 0:
        return np.zeros(shape, dtype)
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), offset + size, access=mmap.ACCESS_COPY)
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        mm.madvise(mmap.MADV_RANDOM)
    # ACCESS_COPY: writable for torch.from_numpy, and writes stay private to this process.
    return np.frombuffer(mm, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)


class RingBuffer:
    """``depth`` reusable output buffers, handed out in turn and grown to the largest request seen.

    A batch's rows stay valid until the same slot comes round again, i.e. for ``depth - 1`` further requests;
    a consumer that keeps batches longer must ``clone()`` them. Slots are pinned when CUDA exists, so the copy
    to the GPU is an asynchronous DMA.
    """

    def __init__(self, width: int, dtype: torch.dtype, depth: int = 3, pin: Optional[bool] = None) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.width, self.dtype, self.depth = int(width), dtype, int(depth)
        self.pin = _cuda() if pin is None else bool(pin)
        self._slots: List[Optional[Tensor]] = [None] * self.depth
        self._next = 0

    def next(self, rows: int) -> Tensor:
        """The next slot, ``rows`` long; waits for a copy to the GPU that may still be reading it."""
        i = self._next
        self._next = (i + 1) % self.depth
        slot = self._slots[i]
        if slot is not None:
            _wait_dma(slot)
        if slot is None or slot.size(0) < rows:
            cap = max(rows, int(1.25 * (slot.size(0) if slot is not None else 0)))
            slot = torch.empty(cap, self.width, dtype=self.dtype, pin_memory=self.pin)
            self._slots[i] = slot
            if self.pin and slot.numel():
                _RING_STORAGES[slot.untyped_storage().data_ptr()] = self
        return slot[:rows]


def write_npy(path: Union[str, os.PathLike], shape: Sequence[int], dtype: np.dtype = np.float32,
              fill: Optional[callable] = None, chunk_rows: int = 1 << 16) -> None:
    """Write a ``.npy`` of ``shape`` chunk by chunk (never holding it whole): ``fill(start, stop)`` returns rows.

    Without ``fill`` the file is zero-filled. Used to build feature files larger than RAM.
    """
    arr = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=dtype, shape=tuple(shape))
    rows = int(shape[0])
    for start in range(0, rows, chunk_rows):
        stop = min(rows, start + chunk_rows)
        arr[start:stop] = 0 if fill is None else fill(start, stop)
        arr.flush()
    del arr
