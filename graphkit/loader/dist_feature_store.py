"""``DistFeatureStore``: node features partitioned across ranks, remote rows fetched per batch, hot rows cached.

Rank ``r`` holds only the rows of its part ``P_r`` of a :class:`~graphkit.loader.Partition` (METIS), in
increasing node-id order. ``gather(index)`` answers like a ``FeatureStore`` over all ``N`` rows:

.. math::
    \\mathrm{out}_i = X_{\\mathrm{index}_i} =
    \\begin{cases} L_r[\\mathrm{pos}(\\mathrm{index}_i)] & \\mathrm{part}(\\mathrm{index}_i) = r \\\\
                   C[\\mathrm{index}_i] & \\mathrm{index}_i \\in \\mathrm{cache} \\\\
                   L_{\\mathrm{part}(\\mathrm{index}_i)}[\\mathrm{pos}(\\mathrm{index}_i)] & \\text{otherwise (fetched)}
    \\end{cases}

where ``pos(v)`` is ``v``'s rank within its part. The fetched rows move in one all-to-all round: the distinct
missing ids, grouped by owner, go to their owners (after an all-to-all of the ``W`` counts, which sizes the
buffers), and the owners' rows come back in the same order. Local and cached rows are copied while the ids are
in flight. The cache holds the ``cache_size`` remote rows of highest ``cache_score`` (by default a node's
out-degree: how many edges can sample it as a neighbour), filled by one exchange at construction.

``gather`` is a collective: every rank calls it the same number of times, in the same order (``NeighborLoader``
does, when every rank draws the same number of batches: ``graphkit.train.distributed.NodeBatches``). Called by
the loader's prefetch thread, the fetch for batch ``k + 1`` runs while batch ``k`` trains; it uses its own
process group (:class:`~graphkit.loader.exchange.ProcessGroupExchange`), so it does not interleave with DDP's.

Counters (``stats()``): rows served locally, from the cache and fetched; bytes sent and received (ids, counts and
rows; the cache fill apart), and ``bytes_saved``: the id and row bytes the cache hits did not move (so traffic
without the cache is ``bytes_received + bytes_saved``, summed over ranks); ``gather_ns``: time spent in
``gather`` (exchanges included; on the prefetch thread it overlaps the training step).

Shapes:
    local rows ``[|P_r|, F]``; ``gather(index [n])`` -> ``[n, F]``.

Two ranks as two threads of one process (:class:`~graphkit.loader.LocalExchange`); under torchrun each rank
builds its store with the default exchange instead:

>>> import torch
>>> from graphkit.loader import LocalExchange, Partition
>>> x = torch.arange(12.).view(6, 2)
>>> part = Partition(torch.tensor([0, 1, 0, 1, 1, 0]), 2)
>>> def rank(ex):
...     store = DistFeatureStore(x[part.owned(ex.rank)], part, ex)   # rank 0 holds rows 0, 2, 5
...     rows = store.gather(torch.tensor([4, 0, 3] if ex.rank == 0 else [2, 5]))
...     return rows.tolist(), store.stats()["rows_fetched"]
>>> LocalExchange.run(2, rank)
[([[8.0, 9.0], [0.0, 1.0], [6.0, 7.0]], 2), ([[4.0, 5.0], [10.0, 11.0]], 2)]
"""
from __future__ import annotations

import threading
import time
import zlib
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.loader.exchange import Exchange, Pending, ProcessGroupExchange
from graphkit.loader.feature_store import FeatureStore
from graphkit.loader.partition import Partition

__all__ = ["DistFeatureStore", "hot_nodes", "part_positions"]

_ID_BYTES = 8  # ids travel as int64


class _Fetch(NamedTuple):
    order: Tensor  # position in ``want`` of each id sent, grouped by owner
    pending: Pending  # the ids the peers ask this rank for
    send_splits: List[int]
    recv_splits: List[int]


def part_positions(part: Tensor, num_parts: int) -> Tuple[Tensor, Tensor]:
    """``(pos [N] int32, sizes [W])``: ``pos[v]`` is ``v``'s place among its part's nodes in id order.

    >>> pos, sizes = part_positions(torch.tensor([1, 0, 1, 1, 0]), 2)
    >>> pos.tolist(), sizes.tolist()
    ([0, 0, 1, 2, 1], [2, 3])
    """
    sizes = torch.bincount(part, minlength=num_parts)
    order = torch.argsort(part, stable=True)  # grouped by part, ids ascending inside each
    start = torch.cumsum(sizes, 0) - sizes
    pos = torch.empty(part.numel(), dtype=torch.int32)
    pos[order] = (torch.arange(part.numel()) - start[part[order]]).to(torch.int32)
    return pos, sizes


def hot_nodes(score: Tensor, part: Tensor, rank: int, k: int) -> Tensor:
    """The ``k`` nodes outside part ``rank`` with the highest ``score`` (ties: lower id), sorted by id.

    >>> hot_nodes(torch.tensor([5., 1., 9., 7.]), torch.tensor([0, 1, 1, 1]), 0, 2).tolist()
    [2, 3]
    """
    remote = (part != rank).nonzero().view(-1)
    k = min(int(k), remote.numel())
    if k <= 0:
        return remote[:0]
    # stable descending sort: equal scores keep id order, so every run picks the same rows
    top = remote[torch.argsort(score[remote], descending=True, stable=True)[:k]]
    return torch.sort(top).values


class DistFeatureStore(FeatureStore):
    """One rank's rows of features partitioned across ranks; ``gather`` fetches the others (a collective).

    Args:
        local: this rank's rows, ``[|P_r|, F]``, in increasing node-id order (``x[partition.owned(rank)]``), as a
            tensor or a ``FeatureStore`` (e.g. the part's own memory-mapped ``.npy``).
        partition: the node -> rank assignment; identical on every rank (checked at construction).
        exchange: the transport; default :class:`ProcessGroupExchange` (a new gloo group over all ranks).
        cache_size: remote rows cached locally (``0``: none).
        cache_score: ``[N]`` score of each node, the highest-scored remote nodes are cached; default: none
            given with ``cache_size > 0`` raises (pass e.g. :meth:`out_degree` of the graph).

    Construction is a collective (a partition check, and the cache fill when ``cache_size > 0``).
    """

    def __init__(self, local: Union[Tensor, np.ndarray, FeatureStore], partition: Partition,
                 exchange: Optional[Exchange] = None, cache_size: int = 0, cache_score: Optional[Tensor] = None
                 ) -> None:
        if not isinstance(partition, Partition):
            raise TypeError(f"partition must be a graphkit.loader.Partition, got {type(partition).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be a non-negative int, got {cache_size!r}")
        self.exchange = exchange if exchange is not None else ProcessGroupExchange()
        self.rank, self.world_size = self.exchange.rank, self.exchange.world_size
        if partition.num_parts != self.world_size:
            raise ValueError(f"partition.num_parts is {partition.num_parts} but world_size is {self.world_size}")
        self._rows = local if isinstance(local, FeatureStore) else FeatureStore(local, pin=False)
        super().__init__(self._rows.data, pin=False)
        self.mapped = self._rows.mapped  # the inner store checks its own mapped file on every read
        self.part = partition.part.to(torch.int16 if partition.num_parts < 2 ** 15 else torch.int32)
        self.global_rows = int(self.part.numel())
        self._pos, sizes = part_positions(partition.part, partition.num_parts)
        if self._rows.num_rows != int(sizes[self.rank]):
            raise ValueError(f"local has {self._rows.num_rows} rows but partition gives rank {self.rank} "
                             f"{int(sizes[self.rank])} nodes")
        if cache_size > 0:  # checked before the first collective, so a bad call fails alone and at once
            if cache_score is None:
                raise ValueError("cache_score is None but cache_size is "
                                 f"{cache_size}: pass a per-node score (e.g. DistFeatureStore.out_degree(graph))")
            if not isinstance(cache_score, Tensor) or cache_score.numel() != self.global_rows:
                raise ValueError(f"cache_score must be a tensor of {self.global_rows} entries (one per node), got "
                                 f"{getattr(cache_score, 'numel', lambda: type(cache_score).__name__)()}")
        self._lock = threading.Lock()
        self._counts = dict(requests=0, rows_requested=0, rows_local=0, rows_cached=0, rows_fetched=0,
                            rows_served=0, bytes_sent=0, bytes_received=0, bytes_saved=0, bytes_cache_fill=0,
                            gather_ns=0)
        self._check_agreement(partition.part)
        self.cache_ids = torch.empty(0, dtype=torch.long)
        self.cache_rows = torch.empty(0, self.width, dtype=self.dtype)
        if cache_size > 0:
            ids = hot_nodes(cache_score.reshape(-1).cpu(), partition.part, self.rank, cache_size)
            rows = self._finish_fetch(self._start_fetch(ids))
            fill = self._counts["bytes_received"] + self._counts["bytes_sent"]
            self.reset_stats()
            self._counts["bytes_cache_fill"] = fill
            self.cache_ids, self.cache_rows = ids, rows

    @staticmethod
    def out_degree(graph: Graph) -> Tensor:
        """Edges leaving each node of ``graph`` (``edge_index[0]``): how many sampled targets can draw it."""
        return torch.bincount(graph.edge_index_or_empty()[0], minlength=graph.num_nodes).float()

    @property
    def num_rows(self) -> int:
        return self.global_rows

    def __repr__(self) -> str:
        return (f"DistFeatureStore(rank={self.rank}, world_size={self.world_size}, local_rows={self._rows.num_rows}"
                f", rows={self.global_rows}, width={self.width}, cache={self.cache_ids.numel()})")

    # --------------------------------------------------------------------------------------------- counters
    def stats(self) -> Dict[str, int]:
        """Counters since construction or :meth:`reset_stats` (see the module docstring)."""
        with self._lock:
            return dict(self._counts)

    def reset_stats(self) -> None:
        with self._lock:
            for k in self._counts:
                if k != "bytes_cache_fill":
                    self._counts[k] = 0

    def _add(self, **kw: int) -> None:
        with self._lock:
            for k, v in kw.items():
                self._counts[k] += int(v)

    # --------------------------------------------------------------------------------------------- exchange
    def _check_agreement(self, part: Tensor) -> None:
        """Every rank must hold the same partition and the same row width and type: checked by one exchange."""
        if self.world_size == 1:
            return
        n = part.numel()
        # position-weighted (a moved node changes it, unlike a plain sum); int64, no overflow below 2^30 nodes
        # per 8 parts, and wrap-around beyond that is still the same on every rank
        checksum = int((part.long() * torch.arange(1, n + 1)).sum()) ^ n
        dtype_code = zlib.crc32(str(self.dtype).encode())
        mine = torch.tensor([checksum, self.width, dtype_code], dtype=torch.long)
        theirs = self.exchange.all_to_all(mine.repeat(self.world_size, 1)).wait()
        for src in range(self.world_size):
            if int(theirs[src, 0]) != checksum:
                raise ValueError(f"partition differs between rank {self.rank} and rank {src} "
                                 f"(checksums {checksum} and {int(theirs[src, 0])})")
            if int(theirs[src, 1]) != self.width or int(theirs[src, 2]) != dtype_code:
                raise ValueError(f"local has width {self.width} and dtype {self.dtype} on rank {self.rank} but "
                                 f"width {int(theirs[src, 1])} or another dtype on rank {src}")

    def _start_fetch(self, want: Tensor) -> _Fetch:
        """Send the distinct remote ids ``want`` to their owners (after the counts): the ids are then in flight."""
        order = torch.argsort(self.part[want].long(), stable=True)  # grouped by owner, as all_to_all wants
        grouped = want[order]
        send_counts = torch.bincount(self.part[grouped].long(), minlength=self.world_size)
        recv_counts = self.exchange.all_to_all(send_counts.view(-1, 1)).wait().view(-1)
        send_splits, recv_splits = send_counts.tolist(), recv_counts.tolist()
        pending = self.exchange.all_to_all(grouped, send_splits, recv_splits)
        peers = self.world_size - 1
        self._add(bytes_sent=(peers + grouped.numel()) * _ID_BYTES,
                  bytes_received=(peers + int(recv_counts.sum())) * _ID_BYTES)
        return _Fetch(order, pending, send_splits, recv_splits)

    def _finish_fetch(self, fetch: _Fetch) -> Tensor:
        """Serve the ids the peers asked for, receive this rank's rows; in the order ``want`` had."""
        ids_in = fetch.pending.wait()
        if ids_in.numel() and bool((self.part[ids_in] != self.rank).any()):
            bad = int(ids_in[self.part[ids_in] != self.rank][0])
            raise ValueError(f"a rank asked rank {self.rank} for node {bad}, which its partition gives to rank "
                             f"{int(self.part[bad])}: the ranks' partitions differ")
        rows_out = self._rows.gather(self._pos[ids_in].long())
        rows_in = self.exchange.all_to_all(rows_out, fetch.recv_splits, fetch.send_splits).wait()
        row_bytes = self.width * self.dtype.itemsize
        self._add(bytes_sent=rows_out.size(0) * row_bytes, bytes_received=rows_in.size(0) * row_bytes,
                  rows_served=rows_out.size(0))
        rows = torch.empty_like(rows_in)
        rows[fetch.order] = rows_in
        return rows

    # --------------------------------------------------------------------------------------------- gather
    def gather(self, index: Tensor, out: Optional[Tensor] = None) -> Tensor:
        """``X[index]`` over all ``N`` rows, into ``out`` (``[len(index), F]``) or a new tensor. A collective.

        Raises ``ValueError`` for an id outside ``[0, N)``, before any exchange (the peers then fail on their
        process group's timeout, as on any rank's failure).
        """
        start = time.perf_counter_ns()
        index = self._index(index)
        self._check_range(index)
        if out is None:
            out = torch.empty(index.numel(), self.width, dtype=self.dtype)
        elif not isinstance(out, Tensor) or tuple(out.shape) != (index.numel(), self.width) or out.dtype != self.dtype:
            raise ValueError(f"out must have shape [{index.numel()}, {self.width}] and dtype {self.dtype}, "
                             f"got {list(getattr(out, 'shape', []))} {getattr(out, 'dtype', type(out).__name__)}")
        mine = self.part[index] == self.rank
        remote = (~mine).nonzero().view(-1)
        rid = index[remote]
        hit = torch.zeros(rid.numel(), dtype=torch.bool)
        slot = rid[:0]
        if self.cache_ids.numel() and rid.numel():
            slot = torch.searchsorted(self.cache_ids, rid).clamp_(max=self.cache_ids.numel() - 1)
            hit = self.cache_ids[slot] == rid
        miss = remote[~hit]
        want, inverse = torch.unique(index[miss], return_inverse=True)  # a row travels once per batch
        fetch = self._start_fetch(want) if self.world_size > 1 else None
        # local and cached rows are copied while the ids travel
        loc = mine.nonzero().view(-1)
        if loc.numel():
            out[loc] = self._rows.gather(self._pos[index[loc]].long())
        n_saved = 0
        if bool(hit.any()):
            out[remote[hit]] = self.cache_rows[slot[hit]]
            n_saved = int(torch.unique(rid[hit]).numel())
        self._add(requests=1, rows_requested=index.numel(), rows_local=loc.numel(), rows_cached=int(hit.sum()),
                  rows_fetched=want.numel(), bytes_saved=n_saved * (self.width * self.dtype.itemsize + _ID_BYTES))
        if fetch is not None:
            rows = self._finish_fetch(fetch)
            if miss.numel():
                out[miss] = rows[inverse]
        self._add(gather_ns=time.perf_counter_ns() - start)
        return out

    __getitem__ = gather

    def gather_cuda(self, index: Tensor, stream: Optional["torch.cuda.Stream"] = None) -> Tensor:
        raise RuntimeError("DistFeatureStore gathers on the host (its rows come over the network); use gather()")
