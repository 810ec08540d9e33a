r"""Subgraph selection policies, vectorised over a whole batch (no Python loop per subgraph).

A policy maps every graph :math:`G` to a bag of subgraphs. Each subgraph is identified by a *root*:

================== ============ ==========================================================================
policy             root         subgraph
================== ============ ==========================================================================
``original``       the graph    :math:`G` itself (one copy: the plain MPNN, for ablations)
``node_deleted``   node ``r``   :math:`G - r` (``r`` and its edges removed)
``edge_deleted``   edge ``{a,b}`` :math:`G` without the undirected edge ``{a, b}``
``node_marked``    node ``r``   :math:`G` with ``r`` marked
``ego``            node ``r``   the ``k``-hop ego-net of ``r`` (nodes within distance ``k``, induced edges)
``ego_plus``       node ``r``   the ego-net with ``r`` marked
================== ============ ==========================================================================

A graph that has no root (no nodes, or no edges for ``edge_deleted``) keeps one unmodified copy, so every graph
has at least one subgraph. Functions here return *pairs* ``(subgraph, original node)`` sorted by subgraph then
node; :mod:`graphkit.nn.subgraph.bag` turns them into a batch.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ["POLICIES", "MARKED", "segment_arange", "candidate_roots", "sample_roots", "all_pairs", "ego_pairs"]

POLICIES = ("original", "node_deleted", "edge_deleted", "node_marked", "ego", "ego_plus")
MARKED = frozenset({"node_marked", "ego_plus"})


def segment_arange(counts: Tensor) -> Tensor:
    """``cat([arange(c) for c in counts])`` without a loop."""
    total = int(counts.sum())
    starts = torch.cumsum(counts, 0) - counts
    return torch.arange(total, device=counts.device) - torch.repeat_interleave(starts, counts, output_size=total)


def candidate_roots(policy: str, graph_of_node: Tensor, edge_index: Tensor,
                    num_graphs: int) -> Tuple[Tensor, Tensor, Tensor]:
    """``(graph [C], root_node [C], root_edge [C])`` of every candidate subgraph, sorted by graph.

    ``root_node`` is the original node id of the root (``-1`` when the root is not a node); ``root_edge`` is the
    id of the deleted edge (``-1`` unless ``edge_deleted``).
    """
    device = graph_of_node.device
    n = graph_of_node.numel()
    if policy == "original":
        graph = torch.arange(num_graphs, device=device)
        none = torch.full((num_graphs,), -1, dtype=torch.long, device=device)
        return graph, none, none
    if policy == "edge_deleted":
        eid = (edge_index[0] < edge_index[1]).nonzero().view(-1)  # one root per undirected edge
        graph = graph_of_node[edge_index[0, eid]]
        node, edge = torch.full_like(eid, -1), eid
    else:
        graph, node = graph_of_node, torch.arange(n, device=device)
        edge = torch.full_like(node, -1)
    # Graphs without any root keep one unmodified copy.
    empty = (torch.bincount(graph, minlength=num_graphs) == 0).nonzero().view(-1)
    if empty.numel():
        pad = torch.full_like(empty, -1)
        graph, node, edge = torch.cat([graph, empty]), torch.cat([node, pad]), torch.cat([edge, pad])
    order = torch.sort(graph, stable=True).indices
    return graph[order], node[order], edge[order]


def sample_roots(graph: Tensor, fraction: float, num_graphs: int, generator: Optional[torch.Generator]) -> Tensor:
    """Indices (sorted) of ``max(1, ceil(fraction * count))`` random candidates per graph."""
    count = torch.bincount(graph, minlength=num_graphs)
    keep = torch.clamp(torch.ceil(count.double() * fraction).long(), min=1)
    u = torch.rand(graph.numel(), generator=generator, dtype=torch.float64).to(graph.device)
    order = torch.sort(graph.double() + u).indices  # random order inside each graph, graphs in order
    rank = segment_arange(count)  # position of order[i] inside its graph (graph is sorted)
    chosen = order[rank < keep[graph[order]]]
    return torch.sort(chosen).values


def all_pairs(sub_graph: Tensor, ptr: Tensor) -> Tuple[Tensor, Tensor]:
    """Every (subgraph, node of its graph) pair: ``(sub [P], node [P])``, sorted."""
    counts = ptr[1:][sub_graph] - ptr[:-1][sub_graph]
    sub = torch.repeat_interleave(torch.arange(sub_graph.numel(), device=ptr.device), counts)
    node = ptr[:-1][sub_graph][sub] + segment_arange(counts)
    return sub, node


def ego_pairs(root: Tensor, k: int, rowptr: Tensor, col: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    """``(sub, node)`` with ``dist(root[sub], node) <= k``, by ``k`` rounds of frontier expansion, sorted.

    ``rowptr``/``col`` hold each node's neighbours (CSR). Memory follows the ego-nets (their pairs and the edges
    leaving them), never the ``n^2`` of all pairs.
    """
    subs = torch.arange(root.numel(), device=root.device)
    seen = subs * num_nodes + root
    frontier = seen
    for _ in range(k):
        if frontier.numel() == 0:
            break
        s, u = frontier // num_nodes, frontier % num_nodes
        deg = rowptr[u + 1] - rowptr[u]
        s = torch.repeat_interleave(s, deg)
        v = col[torch.repeat_interleave(rowptr[u], deg) + segment_arange(deg)]
        reached = torch.unique(s * num_nodes + v)
        frontier = reached[~torch.isin(reached, seen)]
        seen = torch.cat([seen, frontier])
    seen = torch.sort(seen).values
    return seen // num_nodes, seen % num_nodes
