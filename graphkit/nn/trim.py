r"""Layer-wise trimming of sampled mini-batches: each layer computes only the rows the next layer reads.

A :class:`~graphkit.loader.NeighborLoader` batch numbers its nodes hop by hop (the ``B`` seeds, then the nodes first
reached at hop 1, ...) and groups its edges by target in that order, so the edges into hops ``0..h`` are a prefix
of the edge list, and ``num_sampled_nodes`` / ``num_sampled_edges`` (graph fields) say where each hop ends. With
``K`` hops and ``L`` layers, layer ``l`` (0-based) only needs outputs for hops ``0..min(K, L-1-l)`` and reads
sources from hops ``0..min(K, L-l)``: a bipartite structure whose targets, sources and edges are all prefixes of
the batch's (DGL's message-flow "blocks", PyG's ``trim_to_layer``). Layer 1 of a 2-layer GraphSAGE at fan-out
``[10, 10]`` then runs on ~11k of ~79k rows, layer 2 on the 1,024 seeds only.

Every target keeps all of its sampled in-edges, so sum, mean, max, attention and GIN outputs on the kept rows are
exactly the untrimmed ones. GCN's normalisation also reads the degree of each *source*, which trimming cuts off
for the outer hop: :func:`prefix_parent` hands the layer the untrimmed structure so that it takes its
normalisation from there (``gcn_norm`` does).

>>> import torch
>>> from graphkit.ops.adjacency import Adjacency
>>> full = Adjacency(torch.tensor([[1, 2, 3, 4], [0, 0, 1, 2]]), 5, 5)
>>> plan = layer_sizes([1, 2, 2], [2, 2], num_layers=2)
>>> plan
[(5, 3, 4), (3, 1, 2)]
>>> a = trim_adjacency(full, *plan[1])
>>> (a.num_src, a.num_dst, a.edge_index.tolist())
(3, 1, [[1, 2], [0, 0]])
>>> prefix_parent(a) is full
True
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import torch

from graphkit.graph import Graph
from graphkit.ops.adjacency import Adjacency

__all__ = ["LayerSize", "layer_sizes", "trim_adjacency", "prefix_parent", "hop_counts", "target_block"]

#: ``(num_src, num_dst, num_edges)`` of one layer's trimmed structure.
LayerSize = Tuple[int, int, int]

_PARENT = "trim:prefix_of"


def hop_counts(adj: Any) -> Optional[Tuple[List[int], List[int]]]:
    """``(num_sampled_nodes, num_sampled_edges)`` per hop when ``adj`` is a sampled batch ``Graph`` that has them
    (and they add up to its nodes and edges), else ``None``."""
    if not isinstance(adj, Graph) or "num_sampled_nodes" not in adj or "num_sampled_edges" not in adj:
        return None
    nodes, edges = adj["num_sampled_nodes"], adj["num_sampled_edges"]
    nodes = nodes.tolist() if isinstance(nodes, torch.Tensor) else list(nodes)
    edges = edges.tolist() if isinstance(edges, torch.Tensor) else list(edges)
    if len(nodes) != len(edges) + 1 or sum(nodes) != adj.num_nodes or sum(edges) != adj.num_edges:
        return None  # not the layout of one sampled batch (e.g. batches collated together): run untrimmed
    return [int(n) for n in nodes], [int(e) for e in edges]


def layer_sizes(num_sampled_nodes: Sequence[int], num_sampled_edges: Sequence[int],
                num_layers: int) -> List[LayerSize]:
    """The trimmed ``(num_src, num_dst, num_edges)`` of each of ``num_layers`` layers (see the module docstring).

    ``num_sampled_nodes`` has one entry per hop plus the seeds (``K + 1``), ``num_sampled_edges`` one per hop
    (``K``: edges into the nodes of hop ``k``).
    """
    hops = len(num_sampled_edges)
    if len(num_sampled_nodes) != hops + 1:
        raise ValueError(f"num_sampled_nodes has {len(num_sampled_nodes)} entries but num_sampled_edges has {hops}; "
                         "expected one more node count (the seeds) than edge counts")
    node_end = [sum(num_sampled_nodes[: h + 1]) for h in range(hops + 1)]
    edge_end = [0] + [sum(num_sampled_edges[: h + 1]) for h in range(hops)]
    out = []
    for layer in range(num_layers):
        dst_hop = min(hops, num_layers - 1 - layer)  # the last hop the next layers read
        src_hop = min(hops, dst_hop + 1)
        out.append((node_end[src_hop], node_end[dst_hop], edge_end[min(dst_hop + 1, hops)]))
    return out


def trim_adjacency(full: Adjacency, num_src: int, num_dst: int, num_edges: int) -> Adjacency:
    """The prefix structure of ``full``: sources ``0..num_src-1``, targets ``0..num_dst-1``, its first
    ``num_edges`` edges (which must be exactly the edges into those targets; ``ValueError`` otherwise).

    Memoised on ``full``; the CSR is a prefix of ``full``'s (no sort) when ``full``'s edges are in CSR order, as
    the sampler emits them. :func:`prefix_parent` of the result is ``full``.
    """
    if (num_src, num_dst, num_edges) == (full.num_src, full.num_dst, full.num_edges):
        return full
    return full.derived(("trim", num_src, num_dst, num_edges), lambda: _build(full, num_src, num_dst, num_edges))


def _build(full: Adjacency, num_src: int, num_dst: int, num_edges: int) -> Adjacency:
    rowptr, col, perm = full.csr()
    if not (0 <= num_dst <= full.num_dst and num_dst <= num_src <= full.num_src) or int(rowptr[num_dst]) != num_edges:
        raise ValueError(f"the first {num_edges} edges are not the edges into the first {num_dst} targets "
                         f"(the CSR has {int(rowptr[min(num_dst, full.num_dst)])}): not a hop-ordered sampled batch")
    value = None if full.value is None else full.value[:num_edges]
    csr = None
    in_order = full.csr_eid() is None  # checked once per batch; its prefixes inherit it
    if in_order:
        csr = (rowptr[: num_dst + 1], col[:num_edges], perm[:num_edges])
    out = Adjacency(full.edge_index[:, :num_edges], num_src, num_dst, value, csr=csr, csr_in_order=in_order)
    out.derived(_PARENT, lambda: full)
    return out


def prefix_parent(adj: Adjacency) -> Optional[Adjacency]:
    """The untrimmed structure ``adj`` was cut from by :func:`trim_adjacency`, or ``None``."""
    return adj.derived(_PARENT, lambda: None) if adj.has(_PARENT) else None


def target_block(full: Adjacency, start: int, stop: int) -> Adjacency:
    """The incoming edges of targets ``start..stop-1`` of ``full``: a bipartite structure with ``full``'s
    ``num_src`` sources (global ids, so a layer reads its input in place) and ``stop - start`` targets (local ids).

    Its CSR is rows ``start..stop`` of ``full``'s, sliced (``col`` is a view): each target keeps every in-edge, in
    ``full``'s CSR order. Stored values follow their edges. Used by layer-wise inference
    (:meth:`graphkit.nn.models.basic_gnn.BasicGNN.inference`).
    """
    if not 0 <= start <= stop <= full.num_dst:
        raise ValueError(f"target block [{start}, {stop}) is not within the {full.num_dst} targets")
    rowptr, col, perm = full.csr()
    lo, hi = int(rowptr[start]), int(rowptr[stop])
    ptr = rowptr[start:stop + 1] - lo
    src = col[lo:hi]
    dst = torch.repeat_interleave(torch.arange(stop - start, device=ptr.device, dtype=ptr.dtype), ptr.diff())
    value = None if full.value is None else full.value[perm[lo:hi]]
    ident = torch.arange(hi - lo, device=ptr.device, dtype=ptr.dtype)
    return Adjacency(torch.stack([src, dst]), full.num_src, stop - start, value, csr=(ptr, src, ident))
