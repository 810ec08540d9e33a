"""Negative sampling for link prediction: node pairs that are *not* edges (PyG's names and semantics).

Samples are exact: a returned pair is never an edge of the input, never a self-loop (on one node set), and never
returned twice. The count is ``num_neg_samples`` whenever the graph has that many non-edges (PyG's ``sparse``
method may return fewer); only then is it smaller. Randomness comes from torch's global generator.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.utils._checks import as_edge_index, num_nodes_of

__all__ = ["negative_sampling", "structured_negative_sampling", "structured_negative_sampling_feasible",
           "batched_negative_sampling"]

Size = Union[None, int, Tuple[int, int]]
_DENSE_LIMIT = 1 << 20  # candidate pairs: enumerate them all below this, rejection-sample above
_METHODS = ("sparse", "dense")


def _sizes(edge_index: Tensor, num_nodes: Size) -> Tuple[int, int, bool]:
    if isinstance(num_nodes, (tuple, list)):
        n_src = num_nodes_of(edge_index[0:1], num_nodes[0])
        n_dst = num_nodes_of(edge_index[1:2], num_nodes[1])
        return n_src, n_dst, True
    n = num_nodes_of(edge_index, num_nodes)
    return n, n, False


def _allowed(key: Tensor, n_dst: int, bipartite: bool, undirected: bool) -> Tensor:
    """Which pair keys ``src * n_dst + dst`` are candidates at all (no self-loops; ``src < dst`` if undirected)."""
    if bipartite:
        return torch.ones_like(key, dtype=torch.bool)
    src, dst = key // n_dst, key % n_dst
    return src < dst if undirected else src != dst


def _pick(candidates: Tensor, k: int) -> Tensor:
    return candidates[torch.randperm(candidates.numel(), device=candidates.device)[:k]]


def negative_sampling(edge_index: Tensor, num_nodes: Size = None, num_neg_samples: Optional[int] = None,
                      method: str = "sparse", force_undirected: bool = False) -> Tensor:
    r"""Uniformly random node pairs :math:`(i, j)` that are not edges: ``[2, num_neg_samples]``.

    On one node set self-loops are excluded; ``num_nodes=(N_src, N_dst)`` samples a bipartite graph. With
    ``force_undirected`` a pair counts as an edge in either direction, ``num_neg_samples // 2`` unordered pairs
    are drawn and each is returned in both directions. ``method`` only chooses the algorithm (enumerate every
    candidate: ``"dense"``; rejection sampling: ``"sparse"``); the result is exact either way.

    >>> torch.manual_seed(0) and None
    >>> neg = negative_sampling(torch.tensor([[0, 1, 2], [1, 2, 0]]), num_nodes=3)
    >>> sorted(map(tuple, neg.t().tolist()))
    [(0, 2), (1, 0), (2, 1)]
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    edge_index = as_edge_index(edge_index)
    n_src, n_dst, bipartite = _sizes(edge_index, num_nodes)
    if bipartite and force_undirected:
        raise ValueError("force_undirected=True needs one node set, but num_nodes is a (N_src, N_dst) pair")
    device = edge_index.device
    src, dst = edge_index
    if force_undirected:
        src, dst = torch.minimum(src, dst), torch.maximum(src, dst)
    pos = torch.unique(src * n_dst + dst)
    pos = pos[_allowed(pos, n_dst, bipartite, force_undirected)]
    if bipartite:
        population = n_src * n_dst
    else:
        population = n_src * (n_src - 1) // (2 if force_undirected else 1)
    wanted = edge_index.size(1) if num_neg_samples is None else int(num_neg_samples)
    if wanted < 0:
        raise ValueError(f"num_neg_samples must be non-negative, got {wanted}")
    if force_undirected:
        wanted //= 2
    wanted = min(wanted, population - pos.numel())
    if wanted <= 0:
        return torch.empty(2, 0, dtype=torch.long, device=device)

    total = n_src * n_dst
    if method == "dense" or total <= _DENSE_LIMIT or wanted * 2 > population - pos.numel():
        keys = torch.arange(total, device=device)
        ok = _allowed(keys, n_dst, bipartite, force_undirected) & ~torch.isin(keys, pos)
        chosen = _pick(keys[ok], wanted)
    else:
        # Fewer than half the candidates are wanted: each round keeps at least half its draws in expectation.
        chosen = torch.empty(0, dtype=torch.long, device=device)
        while chosen.numel() < wanted:
            draw = torch.randint(0, total, (2 * (wanted - chosen.numel()) + 16,), device=device)
            draw = draw[_allowed(draw, n_dst, bipartite, force_undirected) & ~torch.isin(draw, pos)]
            merged = torch.cat([chosen, draw])
            _, first = _first_occurrence(merged)
            chosen = merged[first][:wanted]
    out = torch.stack([chosen // n_dst, chosen % n_dst])
    return torch.cat([out, out.flip(0)], dim=1) if force_undirected else out


def _first_occurrence(values: Tensor) -> Tuple[Tensor, Tensor]:
    """The distinct values and the positions of their first occurrences, in order of appearance."""
    uniq, inverse = torch.unique(values, return_inverse=True)
    first = torch.full((uniq.numel(),), values.numel(), dtype=torch.long, device=values.device)
    first.scatter_reduce_(0, inverse, torch.arange(values.numel(), device=values.device), "amin")
    return uniq, first.sort().values


def structured_negative_sampling_feasible(edge_index: Tensor, num_nodes: Optional[int] = None,
                                          contains_neg_self_loops: bool = True) -> bool:
    """Whether every source node has at least one node it is not linked to (so
    :func:`structured_negative_sampling` can pick a ``k`` for each of its edges).

    >>> structured_negative_sampling_feasible(torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]]))
    False
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    src, dst = edge_index
    keys = torch.unique(src * n + dst)
    if not contains_neg_self_loops:
        loops = torch.arange(n, device=keys.device) * (n + 1)
        keys = torch.unique(torch.cat([keys, loops]))
    taken = torch.bincount(keys // max(n, 1), minlength=n)
    return bool((taken[src] < n).all())


def structured_negative_sampling(edge_index: Tensor, num_nodes: Optional[int] = None,
                                 contains_neg_self_loops: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
    """For every edge ``(i, j)`` a random node ``k`` with ``(i, k)`` not an edge: returns ``(i, j, k)``.

    ``k`` is uniform over the nodes ``i`` is not linked to; ``contains_neg_self_loops=False`` also excludes
    ``k == i``. Raises ``ValueError`` when some ``i`` is linked to every node.

    >>> torch.manual_seed(0) and None
    >>> i, j, k = structured_negative_sampling(torch.tensor([[0, 1], [1, 2]]), contains_neg_self_loops=False)
    >>> k.tolist()
    [2, 0]
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    if not structured_negative_sampling_feasible(edge_index, n, contains_neg_self_loops):
        raise ValueError("structured_negative_sampling: some source node is linked to every node "
                         "(check structured_negative_sampling_feasible first)")
    src, dst = edge_index
    taken = src * n + dst
    if not contains_neg_self_loops:
        taken = torch.cat([taken, torch.arange(n, device=src.device) * (n + 1)])
    taken = torch.unique(taken)
    k = torch.randint(0, max(n, 1), (src.numel(),), device=src.device)
    redo = torch.isin(src * n + k, taken).nonzero(as_tuple=False).view(-1)
    while redo.numel():
        fresh = torch.randint(0, n, (redo.numel(),), device=src.device)
        k[redo] = fresh
        redo = redo[torch.isin(src[redo] * n + fresh, taken)]
    return src, dst, k


def batched_negative_sampling(edge_index: Tensor, batch: Union[Tensor, Tuple[Tensor, Tensor]],
                              num_neg_samples: Optional[int] = None, method: str = "sparse",
                              force_undirected: bool = False) -> Tensor:
    """:func:`negative_sampling` inside each graph of a batch: no pair joins two graphs.

    ``batch`` maps nodes to graphs (a pair ``(batch_src, batch_dst)`` for bipartite graphs);
    ``num_neg_samples`` is per graph and defaults to each graph's number of edges.

    >>> torch.manual_seed(0) and None
    >>> ei = torch.tensor([[0, 1, 3, 4], [1, 0, 4, 3]])
    >>> neg = batched_negative_sampling(ei, torch.tensor([0, 0, 0, 1, 1, 1]))
    >>> bool(((neg < 3).all(0) | (neg >= 3).all(0)).all())
    True
    """
    edge_index = as_edge_index(edge_index)
    bipartite = isinstance(batch, (tuple, list))
    b_src, b_dst = (batch[0], batch[1]) if bipartite else (batch, batch)
    for name, b in (("batch", b_src), ("batch", b_dst)):
        if not isinstance(b, Tensor) or b.dim() != 1 or b.is_floating_point():
            raise TypeError(f"{name} must be a 1-D integer tensor, got {getattr(b, 'shape', type(b).__name__)}")
    num_graphs = int(max(int(b_src.max()) if b_src.numel() else -1, int(b_dst.max()) if b_dst.numel() else -1)) + 1
    cnt_src = torch.bincount(b_src, minlength=num_graphs)
    cnt_dst = torch.bincount(b_dst, minlength=num_graphs)
    ptr_src = torch.cat([cnt_src.new_zeros(1), cnt_src.cumsum(0)])
    ptr_dst = torch.cat([cnt_dst.new_zeros(1), cnt_dst.cumsum(0)])
    if edge_index.numel():
        num_nodes_of(edge_index[0:1], b_src.numel())
        num_nodes_of(edge_index[1:2], b_dst.numel())
        if not torch.equal(b_src[edge_index[0]], b_dst[edge_index[1]]):
            raise ValueError("edge_index has an edge between two different graphs of the batch")
    graph_of_edge = b_src[edge_index[0]]
    parts = []
    for g in range(num_graphs):
        local = edge_index[:, graph_of_edge == g] - torch.stack([ptr_src[g], ptr_dst[g]]).view(2, 1)
        size: Size = (int(cnt_src[g]), int(cnt_dst[g])) if bipartite else int(cnt_src[g])
        neg = negative_sampling(local, size, num_neg_samples if num_neg_samples is not None else local.size(1),
                                method, force_undirected)
        parts.append(neg + torch.stack([ptr_src[g], ptr_dst[g]]).view(2, 1))
    return torch.cat(parts, dim=1) if parts else torch.empty(2, 0, dtype=torch.long, device=edge_index.device)
