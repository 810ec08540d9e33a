"""All-to-all exchange of variable-length row blocks between ranks: the transport under ``DistFeatureStore``.

An exchange among ``W`` ranks takes, on every rank ``r``, one tensor whose first dimension is cut into ``W``
consecutive blocks (``send_splits[d]`` rows for rank ``d``), and returns on rank ``r`` the blocks every rank
addressed to it, concatenated in rank order (``recv_splits[s]`` rows from rank ``s``). It is a collective: all
ranks call it the same number of times, in the same order.

* :class:`ProcessGroupExchange`: ``torch.distributed.all_to_all_single`` (gloo's ``alltoall_base``; gloo in
  torch 2.13 implements both ``all_to_all`` and ``all_to_all_single``, the single-buffer form saves a copy per
  peer) on a process group of its own, so a background thread can exchange while the main thread runs DDP's
  gradient all-reduce on the default group: two threads on one group would interleave their collectives in a
  different order on different ranks.
* :class:`LocalExchange`: ``W`` endpoints inside one process, one thread per rank (tests and doctests; no
  sockets).

Shapes:
    ``send [sum(send_splits), *]`` -> ``[sum(recv_splits), *]``; with ``recv_splits=None`` every split is
    ``len(send) // W`` (the equal-size exchange used for counts).

>>> import torch
>>> def rank(ex):  # rank r sends [10r] to rank 0 and [10r + 1, 10r + 2] to rank 1
...     r = ex.rank
...     send = torch.tensor([10 * r, 10 * r + 1, 10 * r + 2])
...     return ex.all_to_all(send, [1, 2], [1, 1] if r == 0 else [2, 2]).wait().tolist()
>>> LocalExchange.run(2, rank)
[[0, 10], [1, 2, 11, 12]]
"""
from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional, Sequence, TypeVar

import torch
from torch import Tensor

from graphkit.ops._checks import check_positive_int

__all__ = ["Exchange", "Pending", "ProcessGroupExchange", "LocalExchange"]

T = TypeVar("T")


class Pending:
    """An exchange in flight: ``wait()`` returns the received tensor (at once when it already completed)."""

    def __init__(self, out: Tensor, work: Any = None, describe: str = "") -> None:
        self._out, self._work, self._describe = out, work, describe

    def wait(self) -> Tensor:
        if self._work is not None:
            try:
                self._work.wait()
            except RuntimeError as exc:  # gloo: a peer closed the connection or the group's timeout passed
                raise RuntimeError(f"{self._describe}: feature exchange failed; another rank probably died or "
                                   f"stalled: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
            self._work = None
        return self._out


class Exchange:
    """The interface: ``rank``, ``world_size`` and :meth:`all_to_all`."""

    rank: int = 0
    world_size: int = 1

    def all_to_all(self, send: Tensor, send_splits: Optional[Sequence[int]] = None,
                   recv_splits: Optional[Sequence[int]] = None) -> Pending:
        raise NotImplementedError

    def _check(self, send: Tensor, send_splits: Optional[Sequence[int]], recv_splits: Optional[Sequence[int]]
               ) -> None:
        w = self.world_size
        if send_splits is None:
            if send.size(0) % w:
                raise ValueError(f"send has {send.size(0)} rows, not a multiple of world_size {w}")
            return
        if len(send_splits) != w or (recv_splits is not None and len(recv_splits) != w):
            raise ValueError(f"send_splits and recv_splits need world_size = {w} entries, got "
                             f"{len(send_splits)} and {len(recv_splits) if recv_splits is not None else None}")
        if sum(send_splits) != send.size(0):
            raise ValueError(f"send_splits sum to {sum(send_splits)} but send has {send.size(0)} rows")


class ProcessGroupExchange(Exchange):
    """``all_to_all_single`` over ``torch.distributed``, asynchronous (``wait()`` joins it).

    Args:
        group: the process group; default: a new gloo group over all ranks (collective: every rank constructs
            its exchange at the same point). Rows live in host memory, so gloo serves even when the default
            group is NCCL.
    """

    def __init__(self, group: Any = None) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            raise RuntimeError("ProcessGroupExchange needs torch.distributed.init_process_group first")
        self.group = group if group is not None else dist.new_group(backend="gloo")
        self.rank = dist.get_rank(self.group)
        self.world_size = dist.get_world_size(self.group)

    def all_to_all(self, send: Tensor, send_splits: Optional[Sequence[int]] = None,
                   recv_splits: Optional[Sequence[int]] = None) -> Pending:
        import torch.distributed as dist

        self._check(send, send_splits, recv_splits)
        send = send.contiguous()
        rows = send.size(0) if recv_splits is None else int(sum(recv_splits))
        out = send.new_empty((rows,) + tuple(send.shape[1:]))
        work = dist.all_to_all_single(out, send, None if recv_splits is None else list(recv_splits),
                                      None if send_splits is None else list(send_splits), group=self.group,
                                      async_op=True)
        return Pending(out, work, f"rank {self.rank} of {self.world_size}")


class _Mailbox:
    def __init__(self, world_size: int, timeout: float) -> None:
        self.slots: List[List[Optional[Tensor]]] = [[None] * world_size for _ in range(world_size)]
        self.barrier = threading.Barrier(world_size, timeout=timeout)


class LocalExchange(Exchange):
    """One rank's endpoint of an in-process exchange; :meth:`create` makes the ``world_size`` endpoints.

    Each endpoint is driven by its own thread. Synchronous: the exchange is done when ``all_to_all`` returns. A
    rank that does not arrive within ``timeout`` seconds breaks the barrier, and every rank raises.
    """

    def __init__(self, mailbox: _Mailbox, rank: int, world_size: int) -> None:
        self._box, self.rank, self.world_size = mailbox, rank, world_size

    @staticmethod
    def create(world_size: int, timeout: float = 60.0) -> List["LocalExchange"]:
        check_positive_int("world_size", world_size)
        box = _Mailbox(world_size, timeout)
        return [LocalExchange(box, r, world_size) for r in range(world_size)]

    @staticmethod
    def run(world_size: int, fn: Callable[["LocalExchange"], T], timeout: float = 60.0) -> List[T]:
        """``[fn(endpoint_r) for r in range(world_size)]``, each call on its own thread; re-raises the first
        error (by rank) of any of them."""
        ends = LocalExchange.create(world_size, timeout)
        results: List[Any] = [None] * world_size
        errors: List[Optional[BaseException]] = [None] * world_size

        def body(r: int) -> None:
            try:
                results[r] = fn(ends[r])
            except BaseException as exc:  # handed to the caller below
                errors[r] = exc
                ends[r]._box.barrier.abort()  # the others must not wait for this rank until the timeout

        threads = [threading.Thread(target=body, args=(r,), daemon=True) for r in range(world_size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # the rank that failed first raised its own error; the others only saw the broken barrier
        first = next((e for e in errors if e is not None and not isinstance(e.__cause__, threading.BrokenBarrierError)),
                     next((e for e in errors if e is not None), None))
        if first is not None:
            raise first
        return results

    def all_to_all(self, send: Tensor, send_splits: Optional[Sequence[int]] = None,
                   recv_splits: Optional[Sequence[int]] = None) -> Pending:
        self._check(send, send_splits, recv_splits)
        w = self.world_size
        splits = list(send_splits) if send_splits is not None else [send.size(0) // w] * w
        box = self._box
        for dst, block in enumerate(torch.split(send, splits)):
            box.slots[self.rank][dst] = block.clone()  # the sender may reuse its buffer once this returns
        try:
            box.barrier.wait()  # every block is posted
            got = [box.slots[src][self.rank] for src in range(w)]
            box.barrier.wait()  # every block is read: the slots may be reused by the next exchange
        except threading.BrokenBarrierError as exc:
            raise RuntimeError(f"rank {self.rank} of {w}: feature exchange failed; another rank did not arrive"
                               ) from exc
        if recv_splits is not None and [g.size(0) for g in got] != list(recv_splits):
            raise ValueError(f"recv_splits is {list(recv_splits)} but the ranks sent {[g.size(0) for g in got]}")
        return Pending(torch.cat(got) if got else send[:0])
