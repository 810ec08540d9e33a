"""Multi-hop neighbour sampling on a graph's CSR of incoming edges, and the sampled sub-graph as a ``Graph``.

Hop ``h`` takes, for every node first reached at hop ``h``, at most ``fanouts[h]`` of its incoming edges
(``-1``: all of them), with or without replacement. Every node's neighbourhood is sampled once (PyG's
``NeighborLoader`` semantics). The sub-graph numbers the seeds ``0..B-1`` first, then new nodes in order of
first appearance; its edges run sampled source -> frontier target and come out grouped by target, so the
sub-graph's CSR is known without sorting and is put straight into its ``csr()`` cache.

Two paths give the same distribution (not the same draws), picked by graphkit's one back-end switch
(``graphkit.ops.backend()``: ``GRAPHKIT_FORCE_TORCH=1`` or ``graphkit.ops.use_backend("torch")`` force the
fallback): the C++ kernel (kernels/cpu/sample_neighbors.cpp: multithreaded, one generator per (seed, hop,
node), so results depend on the seed only, never on the thread count) and a vectorised pure-torch fallback.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(edge_index=torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]]), num_nodes=4)
>>> out = sample_neighbors(g, torch.tensor([0]), [2], seed=0)
>>> out.n_id[0].item(), out.src.numel(), sorted(out.n_id[1:].tolist())[0] in (1, 2, 3)
(0, 2, True)
"""
from __future__ import annotations

import contextlib
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, Graph
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend

__all__ = ["SampleOutput", "sample_neighbors", "to_subgraph", "mix_seed", "MAX_FANOUT_WITH_REPLACEMENT"]

# Draws per node with replacement; kernels/include/validate.h holds the same cap for direct calls. Without
# replacement a fan-out is capped by the degree anyway.
MAX_FANOUT_WITH_REPLACEMENT = 1 << 20

CSR = Tuple[Tensor, Tensor, Tensor]


class SampleOutput(NamedTuple):
    """What one sampling call returns (all int64, local ids unless named global).

    ``n_id`` [N_sub] global id of each local node; ``rowptr`` [N_sub+1] the sub-graph's CSR over targets;
    ``edge_index`` [2, E_sub] local (source, target) of each sampled edge, grouped by target (``src``/``dst``
    are its rows); ``e_id`` [E_sub] global edge id; ``nodes_per_hop`` [L+1] (seeds first); ``edges_per_hop`` [L].
    """

    n_id: Tensor
    rowptr: Tensor
    edge_index: Tensor
    e_id: Tensor
    nodes_per_hop: Tensor
    edges_per_hop: Tensor

    @property
    def src(self) -> Tensor:
        return self.edge_index[0]

    @property
    def dst(self) -> Tensor:
        return self.edge_index[1]


def mix_seed(*parts: int) -> int:
    """A well-mixed non-negative 63-bit seed from integers (splitmix64), e.g. (base seed, epoch, batch)."""
    x = 0
    for p in parts:
        x = (x ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x >> 1


def _check_fanouts(fanouts: Sequence[int], replace: bool = False) -> List[int]:
    out = []
    for h, k in enumerate(fanouts):
        if isinstance(k, bool) or not isinstance(k, int) or (k < 0 and k != -1):
            raise ValueError(f"num_neighbors[{h}] is {k!r} but must be an int >= 0 or -1 (all neighbours)")
        if replace and k > MAX_FANOUT_WITH_REPLACEMENT:
            raise ValueError(f"num_neighbors[{h}] is {k} with replace=True, i.e. {k} draws per node; at most "
                             f"{MAX_FANOUT_WITH_REPLACEMENT}")
        out.append(int(k))
    return out


def _check_csr(rowptr: Tensor, col: Tensor, perm: Tensor) -> None:
    """A CSR triple given by the caller: int64 1-D CPU tensors, rowptr from 0 non-decreasing to E, col < N, perm < E.

    One vectorised pass (O(N + E)); a ``Graph``'s own ``csr()`` is built by graphkit and skips it. The C++ sampler
    also checks every entry it reads, so a direct call cannot read out of bounds either.
    """
    for name, t in (("rowptr", rowptr), ("col", col), ("perm", perm)):
        if not isinstance(t, Tensor) or t.dtype != torch.int64:
            raise TypeError(f"{name} must be an int64 tensor, got {getattr(t, 'dtype', type(t).__name__)}")
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {list(t.shape)}")
        if t.device.type != "cpu":
            raise ValueError(f"the sampler runs on the CPU but {name} is on {t.device}: keep the full graph in host "
                             "memory and move each batch to the GPU (Prefetcher(device=...) does it)")
    if rowptr.numel() == 0:
        raise ValueError("rowptr must have num_nodes + 1 >= 1 entries, got 0")
    n, e = rowptr.numel() - 1, col.numel()
    if perm.numel() != e:
        raise ValueError(f"perm has {perm.numel()} entries but col has {e}")
    first, last = int(rowptr[0]), int(rowptr[-1])
    if first != 0:
        raise ValueError(f"rowptr[0] must be 0, got {first}")
    if last != e:
        raise ValueError(f"rowptr[-1] is {last} but col has {e} entries")
    if n and bool((rowptr[1:] < rowptr[:-1]).any()):
        i = int((rowptr[1:] < rowptr[:-1]).nonzero()[0])
        raise ValueError(f"rowptr must be non-decreasing, but rowptr[{i}] = {int(rowptr[i])} and "
                         f"rowptr[{i + 1}] = {int(rowptr[i + 1])}")
    for name, t, bound, what in (("col", col, n, "num_nodes"), ("perm", perm, e, "the number of edges")):
        if e:
            lo, hi = (int(v) for v in torch.aminmax(t))
            if lo < 0 or hi >= bound:
                bad = lo if lo < 0 else hi
                raise ValueError(f"{name}[{int((t == bad).nonzero()[0])}] is {bad} but {what} is {bound}")


def _check_seeds(seeds: Tensor, num_nodes: int) -> Tensor:
    if not isinstance(seeds, Tensor) or seeds.is_floating_point() or seeds.dtype == torch.bool:
        raise TypeError(f"seeds must be an integer tensor, got {getattr(seeds, 'dtype', type(seeds).__name__)}")
    seeds = seeds.reshape(-1).long().cpu()
    if seeds.numel():
        lo, hi = int(seeds.min()), int(seeds.max())
        if lo < 0 or hi >= num_nodes:
            bad = lo if lo < 0 else hi
            pos = int((seeds == bad).nonzero()[0])
            raise ValueError(f"seeds[{pos}] is {bad} but num_nodes is {num_nodes}")
    return seeds


def sample_neighbors(
    graph: Union[Graph, CSR],
    seeds: Tensor,
    fanouts: Sequence[int],
    replace: bool = False,
    seed: int = 0,
    backend: Optional[str] = None,
) -> SampleOutput:
    """Sample ``len(fanouts)`` hops of incoming neighbours around unique ``seeds``.

    Args:
        graph: a ``Graph`` (its cached ``csr()`` is used) or a CSR triple ``(rowptr, col, perm)``.
        seeds: ``[B]`` unique global node ids.
        fanouts: edges per node per hop; ``-1`` takes every incoming edge.
        replace: sample with replacement (exactly ``k`` draws per node with any edge).
        seed: the result is a function of ``seed`` (and the inputs) only.
        backend: ``None`` follows ``graphkit.ops.backend()``; ``"torch"`` or ``"ext"`` apply
            ``graphkit.ops.use_backend`` to this call.
    """
    if isinstance(graph, Graph):
        rowptr, col, perm = graph.csr()
    else:
        if not isinstance(graph, (tuple, list)) or len(graph) != 3:
            raise TypeError(f"graph must be a Graph or a CSR triple (rowptr, col, perm), got {type(graph).__name__}")
        rowptr, col, perm = graph
        _check_csr(rowptr, col, perm)
    if rowptr.device.type != "cpu":
        raise ValueError(f"the sampler runs on the CPU but the graph is on {rowptr.device}: keep the full graph "
                         "in host memory and move each batch to the GPU (Prefetcher(device=...) does it)")
    fanouts = _check_fanouts(fanouts, bool(replace))
    seeds = _check_seeds(seeds, rowptr.numel() - 1)
    with use_backend(backend) if backend is not None else contextlib.nullcontext():
        return SampleOutput(*K.sample_neighbors(rowptr, col, perm, seeds, fanouts, bool(replace), int(seed)))


def to_subgraph(
    graph: Graph, out: SampleOutput, x: Optional[Tensor] = None, skip: Sequence[str] = ()
) -> Graph:
    """The sampled sub-graph as a ``Graph`` whose ``csr()`` is already filled in.

    Node fields of ``graph`` are sliced by ``n_id`` (``x`` may be given already gathered, e.g. by a
    ``FeatureStore``), edge fields by ``e_id``; graph fields are carried over. Bookkeeping fields: ``n_id``
    (node), ``e_id`` (edge), ``num_sampled_nodes`` / ``num_sampled_edges`` (graph, per hop).
    """
    n_sub = out.n_id.numel()
    # The sampler's ids are in [0, n_sub) by construction and its edges are grouped by target in id order, so
    # the sub-graph is built trusted (the bounds scan cost as much as a quarter of the sampling time per batch)
    # with its CSR (rowptr, sources, identity) filled in.
    csr = (out.rowptr, out.src, _identity(out.e_id.numel()))
    sub = graph.select(out.n_id, out.e_id, num_nodes=n_sub, edge_index=out.edge_index, skip=(*skip, "x"), csr=csr)
    if x is None and graph.x is not None and "x" not in skip:
        x = graph.x[out.n_id]
    if x is not None:
        sub.set("x", x)
    sub.set("n_id", out.n_id, NODE)
    sub.set("e_id", out.e_id, EDGE)
    sub.set("num_sampled_nodes", out.nodes_per_hop, GRAPH)
    sub.set("num_sampled_edges", out.edges_per_hop, GRAPH)
    return sub


_IDENTITY = torch.arange(0)


def _identity(n: int) -> Tensor:
    """``arange(n)`` as a view of one shared, growing buffer (the CSR's ``perm`` is read, never written)."""
    global _IDENTITY
    if _IDENTITY.numel() < n:
        _IDENTITY = torch.arange(max(n, 2 * _IDENTITY.numel()))
    return _IDENTITY[:n]
