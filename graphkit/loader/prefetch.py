"""Prefetching: produce batch ``i + 1`` on a background thread while batch ``i`` trains.

The sampler and the feature gather are C++ ops that release the GIL, so one producer thread overlaps them with
the training step without the cost of worker processes (no pickling of the graph, no shared-memory copies).
Errors raised by the producer are re-raised in the consumer, with the producer's traceback chained.

On a GPU the stream discipline is PyTorch-Direct's: the producer builds and copies each batch on a side stream
and records an event; the consumer's stream waits for that event; every CUDA tensor handed over is
``record_stream``-ed on the consumer's stream (so a dropped batch's memory is not reused by the side stream while
the consumer's kernels still read it); the side stream waits for an event the consumer records when it takes the
next batch (so memory the Prefetcher itself released is reused only after the consumer is done with it); and
pinned ring slots are not refilled before their copy's event has completed (``guard_host_buffers``).

>>> list(Prefetcher(iter(range(5)), depth=2))
[0, 1, 2, 3, 4]
"""
from __future__ import annotations

import atexit
import collections
import queue
import threading
from typing import Any, Callable, Deque, Iterator, List, Optional, Set, Tuple

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.loader.feature_store import guard_host_buffers

__all__ = ["Prefetcher", "tensors_of"]

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


# Producer threads still running, with their stop flags. Kept apart from the Prefetcher objects, which may be
# collected (e.g. after a `break`) while their thread is still inside a C++ op.
_RUNNING: Set[Tuple[threading.Thread, threading.Event]] = set()


@atexit.register
def _stop_all() -> None:
    # A daemon thread still inside a C++ op when the interpreter tears down aborts the process
    # ("terminate called without an active exception"): stop every producer and wait for it first.
    for thread, stop in list(_RUNNING):
        stop.set()
    for thread, _ in list(_RUNNING):
        thread.join(timeout=60)


def _produce(source: Iterator[Any], out: "queue.Queue[Any]", stop: threading.Event, threads: int,
             device: Optional[torch.device], stream: Optional["torch.cuda.Stream"]) -> None:
    """The producer loop. It holds no reference to the Prefetcher, so dropping that stops the thread."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # torch's intra-op thread count is per thread. Two OpenMP pools (this thread's and the trainer's) that
    # together ask for more threads than there are cores spin against each other and run many times slower.
    torch.set_num_threads(threads)
    try:
        _produce_items(source, stop, put, device, stream)
    finally:
        _RUNNING.discard((threading.current_thread(), stop))


def tensors_of(item: Any) -> List[Tensor]:
    """Every tensor an item carries: a Tensor, a ``Graph`` (its fields, ``edge_index`` and cached CSR), or
    lists, tuples and dicts of those."""
    found: List[Tensor] = []

    def visit(obj: Any) -> None:
        if isinstance(obj, Tensor):
            found.append(obj)
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                visit(o)
        elif isinstance(obj, dict):
            for o in obj.values():
                visit(o)
        elif isinstance(obj, Graph):
            _graph_tensors(obj, found)

    visit(item)
    return found


def _graph_tensors(graph: Graph, found: List[Tensor]) -> None:
    # fields, edge_index and the cached CSR; anything else a Graph carries is covered by the retire event
    for _, value in graph:
        if isinstance(value, Tensor):
            found.append(value)
    if graph.edge_index is not None:
        found.append(graph.edge_index)
    if graph.has_csr():
        found.extend(graph.csr())


def _produce_items(source: Iterator[Any], stop: threading.Event, put: Callable[[Any], bool],
                   device: Optional[torch.device], stream: Optional["torch.cuda.Stream"]) -> None:
    try:
        it = iter(source)
        while not stop.is_set():
            if stream is None:
                item = next(it, _DONE)
                if item is _DONE:
                    break
            else:
                # The batch is built on the side stream too: a UVA feature gather inside the sampler
                # (FeatureStore.gather_cuda) then runs there, overlapped with the consumer's compute.
                with torch.cuda.stream(stream):
                    item = next(it, _DONE)
                    if item is _DONE:
                        break
                    host = [t for t in tensors_of(item) if t.device.type == "cpu"]
                    item = item.to(device, non_blocking=True)
                    event = torch.cuda.Event()
                    event.record(stream)
                guard_host_buffers(host, event)
                item = (item, event)
            if not put(item):
                return
    except BaseException as exc:  # handed to the consumer, which re-raises it
        put(_Failure(exc))
        return
    if not stop.is_set():
        put(_DONE)


class Prefetcher:
    """Wrap an iterator so that up to ``depth`` items are produced ahead on a daemon thread.

    With ``device`` set to a CUDA device, each produced ``Graph`` is moved there with ``non_blocking=True`` on a
    side stream (host buffers are pinned), and the consumer's stream waits for that copy before using it; see
    the module docstring for how memory is kept safe across the two streams.
    Breaking out of the loop is fine: the producer stops when the Prefetcher is dropped or ``close()``d.
    """

    def __init__(self, source: Iterator[Any], depth: int = 1, device: Optional[torch.device] = None) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        dev = torch.device(device) if device is not None else None
        self._stream = torch.cuda.Stream(dev) if dev is not None and dev.type == "cuda" else None
        self._device = dev
        # batches handed out before the current one, with the consumer-stream event recorded when it moved on
        self._retired: Deque[Tuple[Any, "torch.cuda.Event"]] = collections.deque()
        self._current: Any = None
        self._thread = threading.Thread(
            target=_produce,
            args=(source, self._queue, self._stop, max(1, torch.get_num_threads() // 2), dev, self._stream),
            daemon=True,
        )
        _RUNNING.add((self._thread, self._stop))
        self._thread.start()

    def __iter__(self) -> "Prefetcher":
        return self

    def __next__(self) -> Any:
        if self._stop.is_set() and self._queue.empty():
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        if self._stream is not None:
            item, event = item
            consumer = torch.cuda.current_stream(self._device)
            consumer.wait_event(event)
            for t in tensors_of(item):
                if t.is_cuda:
                    t.record_stream(consumer)
            self._retire(consumer)
            self._current = item
        return item

    def _retire(self, consumer: "torch.cuda.Stream") -> None:
        # The consumer asked for a new batch, so its stream has queued all its work on the previous one.
        # The side stream waits for that point before it allocates again: memory released by the
        # Prefetcher's own references is then reused only after the consumer's kernels are done with it.
        if self._current is not None:
            done = torch.cuda.Event()
            done.record(consumer)
            self._retired.append((self._current, done))
            self._current = None
        while self._retired:
            _, done = self._retired.popleft()
            self._stream.wait_event(done)

    def close(self, join: bool = False) -> None:
        """Stop the producer (it exits at its next hand-over); ``join`` waits for it. Safe to call twice."""
        self._stop.set()
        if join and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def __del__(self) -> None:
        self._stop.set()
