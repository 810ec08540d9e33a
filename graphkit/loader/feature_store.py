"""``FeatureStore``: node features kept once, read by row, never copied whole.

Following "Large Graph Convolutional Network Training with GPU-Oriented Data Communication Architecture"
(PyTorch-Direct): the features live in pinned host memory (when CUDA exists) or in a memory-mapped ``.npy``
for data larger than RAM, and a mini-batch reads only its rows.

* CPU path: ``gather(index, out)`` is a multithreaded row copy (kernels/cpu/gather_rows.cpp through
  ``graphkit.ops``' back-end switch, GIL released) into a caller-owned buffer, typically a slot of a
  :class:`RingBuffer` (pinned when CUDA exists), so nothing is allocated per batch and the prefetch thread
  fills the next slot while the model trains. ``out`` must not overlap the store.
* GPU path: ``gather_cuda(index)`` launches kernels/cuda/gather.cu, which reads the requested rows straight
  from pinned host memory over UVA (indices sorted, warp reads aligned to 128 bytes) on a side stream: no CPU
  gather, no staging copy. It needs a CUDA build and a pinned store. ``pin=True`` page-locks the existing
  storage in place (``cudaHostRegister``): no second copy, and no rounding up to a power of two as
  ``Tensor.pin_memory()`` does (a 65 GB store would otherwise pin 128 GB).
* Memory-mapped: ``FeatureStore.from_npy(path)`` maps the file copy-on-write; only touched pages are read.
  Every gather first checks that the mapped file still holds the whole array (a file truncated underneath a
  map kills the process with SIGBUS on the next read); ``write_npy`` replaces a file atomically, so rewriting
  one that is mapped leaves the map on the old, intact contents.

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

from graphkit.ops import _kernels as K
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
        self._file: Optional["_MappedFile"] = None
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
        array, mapped_file = _map_npy(os.fspath(path))
        store = cls(array, pin=False)
        store.mapped = True
        store._file = mapped_file
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
        """``data[index]`` written into ``out`` (``[len(index), width]``, same dtype) or a new tensor.

        ``out`` must not share memory with the store (the copy is parallel: it would read rows it already
        overwrote); that raises ``ValueError``.
        """
        index = self._index(index)
        if self._file is not None:
            self._file.check()
        self._check_range(index)
        if out is None:
            out = torch.empty(index.numel(), self.width, dtype=self.dtype)
        elif not isinstance(out, Tensor) or tuple(out.shape) != (index.numel(), self.width) or out.dtype != self.dtype:
            raise ValueError(
                f"out must have shape [{index.numel()}, {self.width}] and dtype {self.dtype}, "
                f"got {list(getattr(out, 'shape', []))} {getattr(out, 'dtype', type(out).__name__)}"
            )
        elif _overlaps(out, self.data):
            raise ValueError("out overlaps the store's data in memory; pass a separate buffer (or none)")
        elif not out.is_contiguous():
            raise ValueError("out must be contiguous")
        return K.gather_rows(self.data, index, out)

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
            K.gather_rows_uva(self.data, sorted_idx, pos, out, stream.cuda_stream, on_gpu)
        if stream != caller:
            out.record_stream(caller)
        return out


def _overlaps(a: Tensor, b: Tensor) -> bool:
    """``a`` and ``b`` have storages whose byte ranges intersect (conservative: views of one storage do)."""
    if a.numel() == 0 or b.numel() == 0:
        return False
    sa, sb = a.untyped_storage(), b.untyped_storage()
    a0, b0 = sa.data_ptr(), sb.data_ptr()
    return a0 < b0 + sb.nbytes() and b0 < a0 + sa.nbytes()


class _MappedFile:
    """The open file behind a map, and the bytes the map needs: ``check()`` before every read of the map."""

    def __init__(self, path: str, needed: int) -> None:
        self.path, self.needed = path, needed
        self.file = open(path, "rb")  # fstat of the mapped inode, even after the path is replaced

    def check(self) -> None:
        size = os.fstat(self.file.fileno()).st_size
        if size < self.needed:
            raise ValueError(
                f"{self.path} shrank to {size} bytes while memory-mapped (the array needs {self.needed}): it was "
                "truncated or rewritten in place; open it again with FeatureStore.from_npy"
            )

    def __del__(self) -> None:
        self.file.close()


def _map_npy(path: str) -> Tuple[np.ndarray, Optional[_MappedFile]]:
    """Map a ``.npy`` copy-on-write with ``MADV_RANDOM``; also returns the file to check before reads.

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
        return np.zeros(shape, dtype), None
    mapped = _MappedFile(path, offset + size)
    mapped.check()
    mm = mmap.mmap(mapped.file.fileno(), offset + size, access=mmap.ACCESS_COPY)
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        mm.madvise(mmap.MADV_RANDOM)
    # ACCESS_COPY: writable for torch.from_numpy, and writes stay private to this process.
    return np.frombuffer(mm, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape), mapped


def _held_elsewhere(slot: Tensor) -> bool:
    """Whether any tensor, view or array besides ``slot`` itself still uses ``slot``'s memory.

    Counts the references to the storage: ``slot`` holds one and the storage object made for the query another;
    every batch ``x`` handed out (and every view, clone-free slice or ``.numpy()`` of it) holds one more.
    """
    return torch._C._storage_Use_Count(slot.untyped_storage()._cdata) > 2


class RingBuffer:
    """``depth`` reusable output buffers, handed out in turn and grown to the largest request seen.

    A slot is reused only when nothing outside the ring still uses it: a batch (or a view of its rows) that the
    consumer kept, e.g. by ``list(loader)``, keeps its memory, and the ring hands out another free slot (a fresh
    one once every slot is held, replacing the kept one).
    Kept batches therefore stay valid; a loop that drops each batch before the next costs no allocation. Slots
    are pinned when CUDA exists, so the copy to the GPU is an asynchronous DMA; ``depth`` covers the batches in
    flight between the producer thread and the consumer (see ``neighbor_loader.ring_slots``).
    """

    def __init__(self, width: int, dtype: torch.dtype, depth: int = 3, pin: Optional[bool] = None) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.width, self.dtype, self.depth = int(width), dtype, int(depth)
        self.pin = _cuda() if pin is None else bool(pin)
        self._slots: List[Optional[Tensor]] = [None] * self.depth
        self._next = 0
        self.replaced = 0  # slots given up to a consumer that kept their batch (a fresh one took their place)

    def next(self, rows: int) -> Tensor:
        """The next free slot in turn, ``rows`` long; waits for a copy to the GPU that may still be reading it.

        A slot is allocated only when every allocated one is still held: a loop that keeps at most ``k`` batches
        alive touches ``k + 1`` slots, however deep the ring (with prefetch 1, three of the loader's four).
        """
        order = [(self._next + k) % self.depth for k in range(self.depth)]
        free = [j for j in order if self._slots[j] is not None and not _held_elsewhere(self._slots[j])]
        empty = [j for j in order if self._slots[j] is None]
        i = free[0] if free else empty[0] if empty else order[0]
        self._next = (i + 1) % self.depth
        slot = self._slots[i]
        if slot is not None and _held_elsewhere(slot):  # every slot is held: the consumer keeps this one
            self._slots[i], slot = None, None
            self.replaced += 1
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
    path = os.fspath(path)
    # Written under a temporary name, then renamed over ``path``: a process that has ``path`` memory-mapped keeps
    # the old file intact (truncating it in place would give that process SIGBUS), and a crash leaves no half file.
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=tuple(shape))
        rows = int(shape[0])
        for start in range(0, rows, chunk_rows):
            stop = min(rows, start + chunk_rows)
            arr[start:stop] = 0 if fill is None else fill(start, stop)
            arr.flush()  # bounded dirty pages for files larger than RAM
        del arr
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
