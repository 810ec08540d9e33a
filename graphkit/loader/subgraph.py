"""What the sub-graph loaders of Cluster-GCN, GraphSAINT and shaDow-GNN share: the node-induced sub-graph of a
``Graph`` (the compiled ``induced_subgraph`` kernel, kernels/cpu/subgraph.cpp), and the epoch loop with its seeds.

Reproducibility (as ``NeighborLoader``): with ``seed`` set, epoch ``e`` is a function of ``(seed, e)`` only,
whatever the thread count; ``seed=None`` draws one per epoch from torch's global generator.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), num_nodes=4, x=torch.arange(4.0))
>>> sub = induced_subgraph(g, torch.tensor([3, 0, 1]))
>>> sub.edge_index.tolist(), sub.x.tolist(), sub.n_id.tolist()
([[0, 1], [1, 2]], [3.0, 0.0, 1.0], [3, 0, 1])
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional

import torch
from torch import Tensor

from graphkit.graph import EDGE, NODE, Graph
from graphkit.loader.prefetch import Prefetcher
from graphkit.loader.sampler import _check_seeds, mix_seed
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.ops._checks import check_positive_int

__all__ = ["induced_subgraph", "SeededLoader", "cpu_csr"]


def cpu_csr(graph: Graph):
    """The graph's incoming CSR, which the sub-graph kernels read on the CPU."""
    if not isinstance(graph, Graph):
        raise TypeError(f"graph must be a graphkit Graph, got {type(graph).__name__}")
    if graph.edge_index is None:
        raise ValueError("the graph has no edge_index; the sub-graph samplers need edges")
    rowptr, col, perm = graph.csr()
    if rowptr.device.type != "cpu":
        raise ValueError(f"the samplers run on the CPU but the graph is on {rowptr.device}: keep the full graph in "
                         "host memory and move each batch to the GPU")
    return rowptr.long(), col.long(), perm.long()


def induced_subgraph(graph: Graph, nodes: Tensor, backend: Optional[str] = None) -> Graph:
    """The sub-graph on ``nodes`` (unique global ids; local id = position) with every edge between them.

    Node fields are sliced by ``nodes``, edge fields by the kept edges' ids, graph fields carried over; ``n_id``
    (node) and ``e_id`` (edge) record the global ids. The result's ``csr()`` is filled in from the kernel.
    """
    rowptr, col, perm = cpu_csr(graph)
    nodes = _check_seeds(nodes, graph.num_nodes)
    with use_backend(backend) if backend is not None else contextlib.nullcontext():
        rowptr_sub, col_sub, e_id = K.induced_subgraph(rowptr, col, perm, nodes)
    dst = torch.repeat_interleave(torch.arange(nodes.numel()), rowptr_sub[1:] - rowptr_sub[:-1])
    edge_index = torch.stack([col_sub, dst])
    csr = (rowptr_sub, col_sub, torch.arange(e_id.numel()))
    sub = graph.select(nodes, e_id, num_nodes=nodes.numel(), edge_index=edge_index, csr=csr)
    sub.set("n_id", nodes, NODE)
    sub.set("e_id", e_id, EDGE)
    return sub


class SeededLoader:
    """An epoch of ``len(self)`` batches built by ``_batches(epoch_seed)``, on a background thread when
    ``prefetch > 0`` (the kernels release the GIL, so sampling overlaps training); ``transform`` is applied to
    each batch ``Graph``."""

    def __init__(self, seed: Optional[int], prefetch: int, transform: Optional[Callable[[Graph], Graph]] = None
                 ) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed
        self.prefetch = check_positive_int("prefetch", prefetch, 0)
        self.epoch = 0
        # imported here: graphkit.transforms imports graphkit.nn, whose Node2Vec builds on this module
        from graphkit.transforms.base import check_transform

        self.transform = check_transform(transform, "transform")

    def _epoch_seed(self) -> int:
        base = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()))
        seed = mix_seed(base, self.epoch)
        self.epoch += 1
        return seed

    def _batches(self, epoch_seed: int) -> Iterator:
        raise NotImplementedError

    def __iter__(self) -> Iterator:
        batches = self._batches(self._epoch_seed())
        if self.transform is not None:
            batches = (self.transform(b) for b in batches)  # transforms.apply_transform without the None case
        return Prefetcher(batches, self.prefetch) if self.prefetch else batches
