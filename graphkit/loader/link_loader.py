"""``LinkNeighborLoader``: link mini-batches (positive pairs plus sampled negatives) with their neighbourhoods.

Each batch takes ``batch_size`` supervision pairs from ``edge_label_index``, adds
``round(neg_sampling_ratio * batch_size)`` negative pairs drawn uniformly from all node pairs (label 0), and
samples the ``L``-hop neighbourhood around every endpoint. The batch ``Graph`` carries ``edge_label_index``
``[2, M]`` in *local* ids (positives first), ``edge_label`` ``[M]`` (the given labels, default 1, then 0 for
negatives), ``input_id`` (positions of the positives in ``edge_label_index``), plus everything a
``NeighborLoader`` batch has. As in PyG, the supervision edges are not removed from the message-passing graph;
pass a graph without them (e.g. the training split's edges) when that matters.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(x=torch.randn(5, 2), edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
>>> loader = LinkNeighborLoader(g, [2], batch_size=2, neg_sampling_ratio=1.0, seed=0)
>>> b = next(iter(loader))
>>> b.edge_label.tolist(), b.edge_label_index.shape
([1.0, 1.0, 0.0, 0.0], torch.Size([2, 4]))
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch
from torch import Tensor

from graphkit.graph import GRAPH, NODE_INDEX, Graph
from graphkit.hetero import HeteroGraph
from graphkit.loader.feature_store import FeatureStore
from graphkit.loader.neighbor_loader import HeteroSubgraphSampler, SubgraphSampler, annotate, ring_slots
from graphkit.loader.prefetch import Prefetcher
from graphkit.loader.sampler import mix_seed
from graphkit.ops._checks import check_positive_int
from graphkit.ops.adjacency import check_bounds
from graphkit.transforms.base import apply_transform, check_transform

__all__ = ["LinkNeighborLoader"]


class LinkNeighborLoader:
    """Iterate over link mini-batches.

    Args:
        graph: the message-passing graph (a ``Graph`` or a ``HeteroGraph``).
        num_neighbors: fan-out per hop (on a HeteroGraph: a list, or ``{edge_type: [per hop]}``).
        edge_label_index: ``[2, M]`` supervision pairs (source, target); default ``graph.edge_index``. On a
            HeteroGraph ``(edge_type, pairs or None)``: pairs in the two endpoint types' ids, negatives drawn from
            those types, and the batch's ``edge_label_index`` in the ids of ``batch[src type]`` and
            ``batch[dst type]`` (graph-level fields ``edge_label_index``, ``edge_label``, ``edge_label_type``).
        edge_label: ``[M]`` labels of those pairs; default all ones.
        neg_sampling_ratio: negatives per positive, drawn uniformly over all nodes (``0``: none).
        batch_size, shuffle, replace, features, drop_last, seed, prefetch, ring, transform, backend, device: as in
            :class:`~graphkit.loader.NeighborLoader`, with ``batch_size`` counting positive pairs.
    """

    def __init__(
        self,
        graph: Union[Graph, HeteroGraph],
        num_neighbors: Any,
        edge_label_index: Any = None,
        edge_label: Optional[Tensor] = None,
        neg_sampling_ratio: float = 0.0,
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
        if not (isinstance(neg_sampling_ratio, (int, float)) and neg_sampling_ratio >= 0):
            raise ValueError(f"neg_sampling_ratio must be a number >= 0, got {neg_sampling_ratio!r}")
        self.edge_type = None
        if isinstance(graph, HeteroGraph):  # one relation's pairs; negatives from its two endpoint types
            if features is not None:
                raise ValueError("features= is for a homogeneous graph; a HeteroGraph's node fields are sliced")
            self.sampler: Union[SubgraphSampler, HeteroSubgraphSampler] = HeteroSubgraphSampler(
                graph, num_neighbors, replace, backend)
            if not (isinstance(edge_label_index, tuple) and len(edge_label_index) == 2):
                raise ValueError("edge_label_index of a HeteroGraph must be (edge_type, [2, M] pairs or None), got "
                                 f"{type(edge_label_index).__name__}")
            et, eli = edge_label_index
            if isinstance(et, str) or len(et) != 3 or tuple(et) not in graph.edge_types:
                raise ValueError(f"edge_label_index names edge type {et!r}, which the graph does not have "
                                 f"(edge types: {graph.edge_types})")
            self.edge_type = tuple(et)
            eli = graph[self.edge_type].edge_index if eli is None else eli
        else:
            self.sampler = SubgraphSampler(graph, num_neighbors, replace, features, ring_slots(ring, prefetch),
                                           backend)
            eli = graph.edge_index if edge_label_index is None else edge_label_index
            if eli is None:
                raise ValueError("edge_label_index is None and the graph has no edge_index")
        if not isinstance(eli, Tensor) or eli.dim() != 2 or eli.size(0) != 2:
            raise ValueError(f"edge_label_index must have shape [2, M], got {list(getattr(eli, 'shape', []))}")
        eli = eli.long().cpu()
        if self.edge_type is not None:
            counts = graph.num_nodes_dict
            for row, nt in ((0, self.edge_type[0]), (1, self.edge_type[2])):
                check_bounds(f"edge_label_index[{row}]", eli[row], counts[nt], f"num_nodes of node type {nt!r}")
            self._sizes = (counts[self.edge_type[0]], counts[self.edge_type[2]])
        else:
            check_bounds("edge_label_index", eli, graph.num_nodes)
            self._sizes = (graph.num_nodes, graph.num_nodes)
        if edge_label is not None and edge_label.numel() != eli.size(1):
            raise ValueError(f"edge_label has {edge_label.numel()} entries but edge_label_index has {eli.size(1)} pairs")
        self.edge_label_index = eli
        self.edge_label = torch.ones(eli.size(1)) if edge_label is None else edge_label.reshape(-1)
        self.neg_sampling_ratio = float(neg_sampling_ratio)
        self.batch_size, self.shuffle, self.drop_last, self.seed = batch_size, shuffle, drop_last, seed
        self.prefetch, self.transform = prefetch, check_transform(transform, "transform")
        self.device = torch.device(device) if device is not None else None
        self.epoch = 0

    def __len__(self) -> int:
        m = self.edge_label_index.size(1)
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    def _batch(self, pos: Tensor, seed: int) -> Graph:
        pairs = self.edge_label_index[:, pos]
        labels = self.edge_label[pos]
        num_neg = int(round(self.neg_sampling_ratio * pos.numel()))
        if num_neg:
            gen = torch.Generator().manual_seed(mix_seed(seed, 1))
            neg = torch.stack([torch.randint(0, self._sizes[0], (num_neg,), generator=gen),
                               torch.randint(0, self._sizes[1], (num_neg,), generator=gen)])
            pairs = torch.cat([pairs, neg], dim=1)
            labels = torch.cat([labels, labels.new_zeros(num_neg)])
        if self.edge_type is None:
            seeds, inverse = torch.unique(pairs.reshape(-1), return_inverse=True)
            batch = self.sampler(seeds, seed)
            batch.set("edge_label_index", inverse.view(2, -1), NODE_INDEX)
        else:
            # global ids, so both endpoint types are seeds of one draw; the seeds of a type form one block of the
            # sorted unique ids, and a seed's id within the batch's type is its place in that block
            graph, (src_t, _, dst_t) = self.sampler.graph, self.edge_type
            off = graph.node_offset
            seeds, inverse = torch.unique(torch.stack([pairs[0] + off[src_t], pairs[1] + off[dst_t]]).reshape(-1),
                                          return_inverse=True)
            batch = self.sampler(seeds, seed)
            inverse = inverse.view(2, -1)
            starts = torch.searchsorted(seeds, torch.tensor([off[src_t], off[dst_t]]))
            annotate(batch, "edge_label_index", inverse - starts.view(2, 1))
            annotate(batch, "edge_label_type", self.edge_type)
        annotate(batch, "edge_label", labels)
        annotate(batch, "input_id", pos)
        annotate(batch, "batch_size", int(seeds.numel()))
        return apply_transform(self.transform, batch)

    def _batches(self, epoch_seed: int) -> Iterator[Graph]:
        m = self.edge_label_index.size(1)
        gen = torch.Generator().manual_seed(epoch_seed)
        order = torch.randperm(m, generator=gen) if self.shuffle else torch.arange(m)
        for b in range(len(self)):
            yield self._batch(order[b * self.batch_size : (b + 1) * self.batch_size], mix_seed(epoch_seed, b))

    def __iter__(self) -> Iterator[Graph]:
        base = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()))
        epoch_seed = mix_seed(base, self.epoch)
        self.epoch += 1
        batches = self._batches(epoch_seed)
        if self.prefetch:
            return Prefetcher(batches, self.prefetch, self.device)
        return (b.to(self.device) for b in batches) if self.device is not None else batches

    def __repr__(self) -> str:
        return (
            f"LinkNeighborLoader(num_neighbors={self.sampler.num_neighbors}, batches={len(self)}, "
            f"batch_size={self.batch_size}, neg_sampling_ratio={self.neg_sampling_ratio})"
        )
