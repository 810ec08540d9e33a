"""``NeighborLoader``: node mini-batches, each the sampled ``L``-hop neighbourhood of a batch of seed nodes.

Batch ``b`` of an epoch is the sub-graph around ``batch_size`` seeds: local nodes ``0..batch_size-1`` are the
seeds, so a model's output for them is ``out[:batch.batch_size]``. Each batch is a ``Graph`` with its CSR
already cached (the convolutions use it without sorting), features gathered through a :class:`FeatureStore`
into a ring of reusable buffers, node fields (``y``, masks) sliced by ``n_id``, edge fields by ``e_id``, and
the bookkeeping ``n_id``, ``e_id``, ``input_id`` (positions in ``input_nodes``), ``batch_size``,
``num_sampled_nodes``, ``num_sampled_edges``. The next batch is sampled and gathered on a background thread
while the current one trains.

Reproducibility: with ``seed`` set, epoch ``e`` is a function of ``(seed, e)`` only, whatever the thread count;
without it the seed is drawn from torch's global generator at each ``iter()``, so ``torch.manual_seed`` fixes it.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(x=torch.randn(6, 2), edge_index=torch.tensor([[1, 2, 3, 4, 5], [0, 0, 1, 2, 3]]))
>>> loader = NeighborLoader(g, [2, 2], batch_size=2, seed=0)
>>> batch = next(iter(loader))
>>> batch.batch_size, batch.n_id[:2].tolist(), batch.x.shape[1]
(2, [0, 1], 2)
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence, Union

import torch
from torch import Tensor

from graphkit.graph import GRAPH, Graph
from graphkit.hetero import HeteroGraph
from graphkit.loader.feature_store import FeatureStore, RingBuffer
from graphkit.loader.prefetch import Prefetcher
from graphkit.loader.sampler import _check_fanouts, mix_seed, sample_neighbors, to_subgraph
from graphkit.ops import ext_available
from graphkit.ops._checks import check_positive_int
from graphkit.transforms.base import apply_transform, check_transform

if TYPE_CHECKING:
    from graphkit.loader.hetero_sampler import HeteroFanouts

__all__ = ["NeighborLoader", "SubgraphSampler", "HeteroSubgraphSampler", "ring_slots", "annotate"]


def as_index(nodes: Optional[Tensor], num_nodes: int, name: str = "input_nodes") -> Tensor:
    """Node ids from ``None`` (all nodes), a boolean mask ``[num_nodes]`` or an integer tensor."""
    if nodes is None:
        return torch.arange(num_nodes)
    if not isinstance(nodes, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(nodes).__name__}")
    if nodes.dtype == torch.bool:
        if nodes.numel() != num_nodes:
            raise ValueError(f"{name} is a mask of {nodes.numel()} entries but num_nodes is {num_nodes}")
        return nodes.nonzero().view(-1)
    if nodes.is_floating_point():
        raise TypeError(f"{name} must be integer node ids or a boolean mask, got dtype {nodes.dtype}")
    return nodes.reshape(-1).long().cpu()


class SubgraphSampler:
    """Sampling plus feature gathering for one batch of seeds: the part both loaders share.

    Args:
        graph: the full graph (its ``csr()`` is built once here).
        num_neighbors: fan-out per hop, e.g. ``[15, 10, 5]``; ``-1`` takes all incoming edges.
        replace: sample with replacement.
        features: a ``FeatureStore`` or tensor to read ``x`` from; default ``graph.x`` (not copied).
        ring: gather ``x`` into a ring of ``ring`` reusable buffers (``0``: a fresh tensor per batch). A buffer is
            reused only once nothing outside the ring holds it, so a batch (or a slice of its ``x``) that the
            consumer keeps, e.g. ``list(loader)``, stays valid: its buffer is left to it and replaced by a new one.
        backend: ``None`` (graphkit's back-end switch), ``"ext"`` or ``"torch"`` (see :func:`sample_neighbors`).
        device: where batches go. On a GPU, with the CUDA build, ``x`` is gathered by the UVA kernel straight
            from page-locked host memory into GPU memory (:meth:`FeatureStore.gather_cuda`, on the current
            stream: the Prefetcher's side stream, overlapped with compute); the store is page-locked in place
            (``cudaHostRegister``, no copy) and the ring is not used for ``x``.
    """

    def __init__(
        self,
        graph: Graph,
        num_neighbors: Sequence[int],
        replace: bool = False,
        features: Union[FeatureStore, Tensor, None] = None,
        ring: int = 4,
        backend: Optional[str] = None,
        device: Optional[torch.device] = None,
    ) -> None:
        if not isinstance(graph, Graph):
            raise TypeError(f"graph must be a graphkit.Graph, got {type(graph).__name__}")
        self.graph = graph
        self.num_neighbors = _check_fanouts(list(num_neighbors), bool(replace))
        self.replace = bool(replace)
        self.backend = backend
        # A 1-D graph.x (one scalar per node) is stored as width 1 and handed back 1-D.
        self._flat_x = features is None and graph.x is not None and graph.x.dim() == 1
        device = torch.device(device) if device is not None else None
        uva = device is not None and device.type == "cuda" and ext_available(device)
        if features is None and graph.x is not None:
            features = FeatureStore(graph.x, pin=uva)
        elif isinstance(features, Tensor):
            features = FeatureStore(features, pin=uva)
        # the UVA gather needs a page-locked store; a memory-mapped one keeps the CPU gather + ring + copy
        self._uva_device = device if uva and features is not None and features.data.is_pinned() else None
        if features is not None and features.num_rows != graph.num_nodes:
            raise ValueError(f"features has {features.num_rows} rows but num_nodes is {graph.num_nodes}")
        self.features: Optional[FeatureStore] = features
        use_ring = features is not None and ring and self._uva_device is None
        self._ring = RingBuffer(features.width, features.dtype, ring) if use_ring else None
        graph.csr()  # built once here, then a cache hit per batch (graphkit built it: no per-batch CSR check)

    def __call__(self, seeds: Tensor, seed: int) -> Graph:
        out = sample_neighbors(self.graph, seeds, self.num_neighbors, self.replace, seed, self.backend)
        x = None
        if self.features is not None and self._uva_device is not None:
            with torch.cuda.device(self._uva_device):
                x = self.features.gather_cuda(out.n_id)
        elif self.features is not None:
            buf = self._ring.next(out.n_id.numel()) if self._ring is not None else None
            x = self.features.gather(out.n_id, out=buf)
        if x is not None and self._flat_x:
            x = x.view(-1)
        return to_subgraph(self.graph, out, x=x, skip=("x",) if x is None else ())


class HeteroSubgraphSampler:
    """Typed sampling for one batch of seeds of one node type (see :mod:`graphkit.loader.hetero_sampler`).

    Args:
        graph: the full ``HeteroGraph`` (its relation-grouped CSR is built once here).
        num_neighbors: a list (every relation) or ``{edge_type: [fan-out per hop]}``.
        replace, backend: as in :class:`SubgraphSampler`.
    """

    def __init__(self, graph: HeteroGraph, num_neighbors: "HeteroFanouts", replace: bool = False,
                 backend: Optional[str] = None) -> None:
        from graphkit.loader.hetero_sampler import hetero_fanouts

        self.graph = graph
        self.num_neighbors = num_neighbors
        self.fanouts = hetero_fanouts(graph, num_neighbors, bool(replace))
        self.replace, self.backend = bool(replace), backend
        graph.relation_csr()  # built once, then a cache hit per batch

    def __call__(self, seeds: Tensor, seed: int) -> HeteroGraph:
        """``seeds``: unique *global* ids (``graph.node_offset[type]`` + id within the type)."""
        from graphkit.loader.hetero_sampler import sample_hetero_neighbors, to_hetero_subgraph

        out = sample_hetero_neighbors(self.graph, seeds, self.fanouts, self.replace, seed, self.backend)
        return to_hetero_subgraph(self.graph, out)


def annotate(batch: Union[Graph, HeteroGraph], name: str, value: object) -> None:
    """Set a graph-level bookkeeping value (``input_id``, ``batch_size``) on a ``Graph`` or a ``HeteroGraph``."""
    if isinstance(batch, HeteroGraph):
        setattr(batch, name, value)
    else:
        batch.set(name, value, GRAPH)


def ring_slots(ring: int, prefetch: int) -> int:
    """Buffers a loader's ring needs (``0`` keeps "no ring").

    In flight at once: the batch before the consumer's (kept valid one batch longer, so code that compares
    consecutive batches works), the consumer's own, up to ``prefetch`` queued, and one the producer is filling:
    the producer fills its next buffer *before* it blocks on the full queue.
    """
    return ring and max(ring, prefetch + 3)


class NeighborLoader:
    """Iterate over node mini-batches with sampled ``L``-hop neighbourhoods.

    Args:
        graph: the full graph: a ``Graph``, or a ``HeteroGraph`` (typed sampling, batches are ``HeteroGraph``
            with ``input_type``, ``input_id``, ``batch_size``; the seeds are the first ``batch_size`` nodes of
            ``batch[input_type]``).
        num_neighbors: fan-out per hop (the last entry is the hop farthest from the seeds); on a HeteroGraph a
            list (every relation) or ``{edge_type: [per hop]}``.
        input_nodes: seed nodes: ids, a boolean mask, or ``None`` for all nodes; on a HeteroGraph a node type
            or ``(node type, ids | mask | None)``.
        batch_size: seeds per batch.
        shuffle: reshuffle the seeds every epoch.
        replace, features, ring, backend: see :class:`SubgraphSampler`.
        drop_last: drop the last, smaller batch.
        seed: base seed (see the module docstring); ``None`` draws one per epoch from torch's generator.
        prefetch: batches produced ahead on a background thread (``0``: sample in the caller's thread).
        transform: applied to each batch ``Graph``.
        device: move each batch there (on a side stream, from pinned buffers, when it is a GPU).
    """

    def __init__(
        self,
        graph: Union[Graph, HeteroGraph],
        num_neighbors: Union[Sequence[int], "HeteroFanouts"],
        input_nodes: Union[Tensor, None, str, tuple] = None,
        batch_size: int = 1,
        shuffle: bool = False,
        replace: bool = False,
        features: Union[FeatureStore, Tensor, None] = None,
        drop_last: bool = False,
        seed: Optional[int] = None,
        prefetch: int = 1,
        ring: int = 4,
        transform: Optional[Callable[[Graph], Graph]] = None,
        backend: Optional[str] = None,
        device: Optional[torch.device] = None,
    ) -> None:
        check_positive_int("batch_size", batch_size)
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0, got {prefetch}")
        if isinstance(graph, HeteroGraph):  # typed: input_nodes = (type, ids), per-relation fan-outs
            from graphkit.loader.hetero_sampler import typed_seeds

            if features is not None:
                raise ValueError("features= is for a homogeneous graph; a HeteroGraph's node fields are sliced")
            self.sampler: Union[SubgraphSampler, HeteroSubgraphSampler] = HeteroSubgraphSampler(
                graph, num_neighbors, replace, backend)
            if input_nodes is None:
                raise ValueError("input_nodes of a HeteroGraph must name a node type: (type, ids) or type")
            self.input_type, self.input_nodes = typed_seeds(graph, input_nodes)
            self._offset = graph.node_offset[self.input_type]
        else:
            self.sampler = SubgraphSampler(graph, num_neighbors, replace, features, ring_slots(ring, prefetch),
                                           backend, device)
            self.input_type, self._offset = None, 0
            self.input_nodes = as_index(input_nodes, graph.num_nodes)
        self.batch_size = batch_size
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.prefetch, self.transform = prefetch, check_transform(transform, "transform")
        self.device = torch.device(device) if device is not None else None
        self.epoch = 0

    def __len__(self) -> int:
        n = self.input_nodes.numel()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _epoch_seed(self) -> int:
        base = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()))
        seed = mix_seed(base, self.epoch)
        self.epoch += 1
        return seed

    def _batches(self, epoch_seed: int) -> Iterator[Graph]:
        n = self.input_nodes.numel()
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed))
        else:
            order = torch.arange(n)
        for b in range(len(self)):
            pos = order[b * self.batch_size : (b + 1) * self.batch_size]
            batch = self.sampler(self.input_nodes[pos] + self._offset, mix_seed(epoch_seed, b))
            annotate(batch, "input_id", pos)
            annotate(batch, "batch_size", int(pos.numel()))
            if self.input_type is not None:
                annotate(batch, "input_type", self.input_type)
            yield apply_transform(self.transform, batch)

    def __iter__(self) -> Iterator[Graph]:
        batches = self._batches(self._epoch_seed())
        if self.prefetch:
            return Prefetcher(batches, self.prefetch, self.device)
        return (b.to(self.device) for b in batches) if self.device is not None else batches

    def __repr__(self) -> str:
        return (
            f"NeighborLoader(num_neighbors={self.sampler.num_neighbors}, batches={len(self)}, "
            f"batch_size={self.batch_size}, replace={self.sampler.replace})"
        )

    def sample(self, seeds: Tensor, seed: int = 0) -> Union[Graph, HeteroGraph]:
        """One batch around ``seeds`` (unique ids; of ``input_type`` on a HeteroGraph), outside the epoch loop."""
        batch = self.sampler(seeds + self._offset, seed)
        annotate(batch, "batch_size", int(seeds.numel()))
        return batch
