"""Multi-hop neighbour sampling on a graph's CSR of incoming edges, and the sampled sub-graph as a ``Graph``.

Hop ``h`` takes, for every node first reached at hop ``h``, at most ``fanouts[h]`` of its incoming edges
(``-1``: all of them), with or without replacement. Every node's neighbourhood is sampled once (PyG's
``NeighborLoader`` semantics). The sub-graph numbers the seeds ``0..B-1`` first, then new nodes in order of
first appearance; its edges run sampled source -> frontier target and come out grouped by target, so the
sub-graph's CSR is known without sorting and is put straight into its ``csr()`` cache.

Two paths give the same distribution (not the same draws): the C++ kernel ``torch.ops.graphkit.
sample_neighbors`` (kernels/cpu/sampler.cpp: multithreaded, one generator per (seed, hop, node), so results
depend on the seed only, never on the thread count) and a vectorised pure-torch fallback used when the
extension is not built.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(edge_index=torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]]), num_nodes=4)
>>> out = sample_neighbors(g, torch.tensor([0]), [2], seed=0)
>>> out.n_id[0].item(), out.src.numel(), sorted(out.n_id[1:].tolist())[0] in (1, 2, 3)
(0, 2, True)
"""
from __future__ import annotations

import functools
import os
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, Graph

__all__ = ["SampleOutput", "sample_neighbors", "has_extension", "to_subgraph", "mix_seed"]

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


@functools.lru_cache(maxsize=None)
def has_extension(op: str = "sample_neighbors") -> bool:
    """Whether ``torch.ops.graphkit.<op>`` is registered (the C++ extension ``graphkit._C`` is built).

    ``GRAPHKIT_NO_EXT=1`` (read once) forces the pure-torch paths, as it does for ``graphkit.ops``.
    """
    if os.environ.get("GRAPHKIT_NO_EXT", "") not in ("", "0"):
        return False
    try:
        import graphkit._C  # noqa: F401  (registers the ops)
    except Exception:  # not built, or built against another torch: the fallback runs instead
        pass
    try:
        getattr(torch.ops.graphkit, op)
        return True
    except (AttributeError, RuntimeError):
        return False


def mix_seed(*parts: int) -> int:
    """A well-mixed non-negative 63-bit seed from integers (splitmix64), e.g. (base seed, epoch, batch)."""
    x = 0
    for p in parts:
        x = (x ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x >> 1


def _check_fanouts(fanouts: Sequence[int]) -> List[int]:
    out = []
    for h, k in enumerate(fanouts):
        if isinstance(k, bool) or not isinstance(k, int) or (k < 0 and k != -1):
            raise ValueError(f"num_neighbors[{h}] is {k!r} but must be an int >= 0 or -1 (all neighbours)")
        out.append(int(k))
    return out


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
    backend: str = "auto",
) -> SampleOutput:
    """Sample ``len(fanouts)`` hops of incoming neighbours around unique ``seeds``.

    Args:
        graph: a ``Graph`` (its cached ``csr()`` is used) or a CSR triple ``(rowptr, col, perm)``.
        seeds: ``[B]`` unique global node ids.
        fanouts: edges per node per hop; ``-1`` takes every incoming edge.
        replace: sample with replacement (exactly ``k`` draws per node with any edge).
        seed: the result is a function of ``seed`` (and the inputs) only.
        backend: ``"auto"`` (C++ when built), ``"cpp"`` or ``"torch"``.
    """
    rowptr, col, perm = graph.csr() if isinstance(graph, Graph) else graph
    if rowptr.device.type != "cpu":
        raise ValueError(f"the sampler runs on the CPU but the graph is on {rowptr.device}: keep the full graph "
                         "in host memory and move each batch to the GPU (Prefetcher(device=...) does it)")
    fanouts = _check_fanouts(fanouts)
    seeds = _check_seeds(seeds, rowptr.numel() - 1)
    if backend not in ("auto", "cpp", "torch"):
        raise ValueError(f"backend must be 'auto', 'cpp' or 'torch', got {backend!r}")
    if backend == "cpp" or (backend == "auto" and has_extension()):
        out = torch.ops.graphkit.sample_neighbors(rowptr, col, perm, seeds, fanouts, bool(replace), int(seed))
        return SampleOutput(*out)
    return _sample_torch(rowptr, col, perm, seeds, fanouts, bool(replace), int(seed))


def _sample_torch(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, fanouts: List[int], replace: bool, seed: int
) -> SampleOutput:
    """Vectorised fallback: per hop, draw positions for the whole frontier at once."""
    if seeds.numel() != torch.unique(seeds).numel():
        raise ValueError("seeds must be unique; got repeated node ids")
    gen = torch.Generator().manual_seed(seed)
    n_id = seeds.clone()
    srcs, dsts, eids = [], [], []
    nodes_per_hop, edges_per_hop = [seeds.numel()], []
    fs, fe = 0, seeds.numel()
    for k in fanouts:
        local = torch.arange(fs, fe)
        v = n_id[fs:fe]
        begin, deg = rowptr[v], rowptr[v + 1] - rowptr[v]
        if k < 0:
            cnt = deg
        else:
            cnt = torch.where(deg > 0, torch.full_like(deg, k), deg) if replace else deg.clamp(max=k)
        owner = torch.repeat_interleave(torch.arange(v.numel()), cnt)
        if k >= 0 and replace:
            off = (torch.rand(owner.numel(), generator=gen) * deg[owner]).long()
            pos = begin[owner] + torch.minimum(off, deg[owner] - 1)
        else:
            # Take all of small rows; for rows with deg > k keep the k smallest random keys (a uniform subset).
            all_owner = torch.repeat_interleave(torch.arange(v.numel()), deg)
            ptr = torch.zeros(v.numel() + 1, dtype=torch.long)
            torch.cumsum(deg, 0, out=ptr[1:])
            within = torch.arange(all_owner.numel()) - ptr[all_owner]
            keys = torch.rand(all_owner.numel(), generator=gen)
            order = torch.sort(keys, stable=True).indices
            order = order[torch.sort(all_owner[order], stable=True).indices]  # by row, random inside
            rank = torch.arange(order.numel()) - ptr[all_owner[order]]
            keep = order[rank < cnt[all_owner[order]]]
            pos = begin[all_owner[keep]] + within[keep]
        g_src = col[pos]
        # Relabel in order of first appearance (what the C++ path does, so ids are equally meaningful).
        uniq, inv = torch.unique(torch.cat([n_id, g_src]), return_inverse=True)
        first = torch.full((uniq.numel(),), inv.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inv, torch.arange(inv.numel()), reduce="amin")
        new = (first >= n_id.numel()).nonzero().view(-1)
        new = new[torch.argsort(first[new])]
        local_of = torch.empty(uniq.numel(), dtype=torch.long)
        local_of[inv[: n_id.numel()]] = torch.arange(n_id.numel())
        local_of[new] = torch.arange(n_id.numel(), n_id.numel() + new.numel())
        srcs.append(local_of[inv[n_id.numel():]])
        dsts.append(local[owner])
        eids.append(perm[pos])
        n_id = torch.cat([n_id, uniq[new]])
        nodes_per_hop.append(new.numel())
        edges_per_hop.append(pos.numel())
        fs, fe = fe, n_id.numel()
    empty = torch.empty(0, dtype=torch.long)
    src = torch.cat(srcs) if srcs else empty
    dst = torch.cat(dsts) if dsts else empty
    counts = torch.bincount(dst, minlength=n_id.numel()) if dst.numel() else torch.zeros(n_id.numel(), dtype=torch.long)
    rowptr_sub = torch.zeros(n_id.numel() + 1, dtype=torch.long)
    torch.cumsum(counts, 0, out=rowptr_sub[1:])
    return SampleOutput(
        n_id, rowptr_sub, torch.stack([src, dst]), torch.cat(eids) if eids else empty,
        torch.tensor(nodes_per_hop, dtype=torch.long), torch.tensor(edges_per_hop, dtype=torch.long),
    )


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
