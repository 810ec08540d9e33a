r"""``SubgraphBag``: a batch of graphs becomes ONE batch of subgraph copies, with all the bookkeeping.

For a batch of :math:`B` graphs and a policy (:mod:`graphkit.nn.subgraph.policies`), the result is a
:class:`SubgraphBatch`: a :class:`~graphkit.Batch` whose graphs are the :math:`S` subgraphs, so every graph layer
runs on it unchanged (its CSR is cached as for any batch). It carries

* per subgraph node: ``node_map`` (the original node it copies), ``mark`` (1.0 at a marked root, else 0.0) and
  every node field of the input (``x``, ...) gathered through ``node_map``;
* per subgraph edge: every edge field of the input (``edge_attr``, ...) gathered through the original edge id;
* per subgraph: ``subgraph_graph`` (its original graph), ``subgraph_root`` (root node, or deleted edge id for
  ``edge_deleted``, ``-1`` for a full copy) and ``subgraph_copy`` (its index inside its graph's bag);
* the original structure, for layers that also work on it (DSS): :meth:`SubgraphBatch.original` and
  ``num_original_nodes``; and for SSWL layers :meth:`SubgraphBatch.root_adj`, the pairs ``(w, v) -> (u, v)``
  for ``w`` a neighbour of the root ``u``.

Construction is vectorised: a few sorts, ``repeat_interleave`` and ``searchsorted`` over all pairs at once. Memory is
what the policy needs: ``sum_g |bag_g| n_g`` node copies for node-deleted/marked (less for ego-nets, whose pairs are
found by frontier expansion), and only the edges between kept pairs.

Shapes:
    - input: a ``Batch`` (or a ``Graph``, one graph) with ``N`` nodes and ``E`` edges
    - output: a ``SubgraphBatch`` with ``S`` subgraphs, ``N_s`` nodes and ``E_s`` edges
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import DROP, GRAPH, NODE, Graph
from graphkit.nn.subgraph.policies import (
    MARKED, POLICIES, segment_arange, all_pairs, candidate_roots, ego_pairs, sample_roots,
)
from graphkit.ops._checks import check_positive_int

__all__ = ["SubgraphBag", "SubgraphBatch"]

_BOOKKEEPING = ("node_map", "mark", "subgraph_graph", "subgraph_root", "subgraph_copy")


class SubgraphBatch(Batch):
    """A ``Batch`` of subgraph copies; see the module docstring for its fields."""

    num_original_nodes: int
    num_original_graphs: int
    policy: str

    def original(self) -> Graph:
        """The original graphs' structure (``edge_index``, ``num_nodes``) as one ``Graph``, memoised."""
        return self.derived("subgraph_original",
                            lambda: Graph(edge_index=self.meta("orig_edge_index"), num_nodes=self.num_original_nodes))

    def root_adj(self) -> Graph:
        r"""Edges ``(w, v) -> (u, v)`` between copies of the same node ``v`` in subgraphs rooted at neighbours.

        For node-rooted policies, ``u`` is the root of the target's subgraph and ``w`` ranges over the neighbours
        of ``u`` whose own subgraph is in the bag and contains ``v``: the "vL" aggregation of SSWL.
        """
        return self.derived("subgraph_root_adj", self._root_adj)

    def _root_adj(self) -> Graph:
        n0, root, sub = self.num_original_nodes, self.subgraph_root, self.batch
        if self.policy not in ("node_deleted", "node_marked", "ego", "ego_plus"):
            raise ValueError(f"root_adj needs a node-rooted policy, got policy {self.policy!r}")
        node_map = self.node_map
        sub_of_root = torch.full((n0,), -1, dtype=torch.long, device=root.device)
        is_node = root >= 0
        sub_of_root[root[is_node]] = is_node.nonzero().view(-1)
        rowptr, col, _ = self.original().csr()  # neighbours w -> u, grouped by u (memoised)
        u = root[sub]
        u_safe = u.clamp(min=0)
        deg = torch.where(u >= 0, rowptr[u_safe + 1] - rowptr[u_safe], torch.zeros_like(u))
        tgt = torch.repeat_interleave(torch.arange(sub.numel(), device=sub.device), deg)
        w = col[torch.repeat_interleave(rowptr[u_safe], deg) + segment_arange(deg)]
        src_sub = sub_of_root[w]
        keys = sub * n0 + node_map  # sorted: nodes are sorted by (subgraph, original node)
        want = src_sub * n0 + node_map[tgt]
        pos = torch.searchsorted(keys, want).clamp(max=max(keys.numel() - 1, 0))
        ok = (src_sub >= 0) & (keys[pos] == want) if keys.numel() else torch.zeros_like(want, dtype=torch.bool)
        return Graph(edge_index=torch.stack([pos[ok], tgt[ok]]), num_nodes=sub.numel())


class SubgraphBag:
    """Turn a batch of graphs into one batch of subgraphs: ``bag = SubgraphBag("ego_plus", k=2)(batch)``.

    Args:
        policy: one of ``original``, ``node_deleted``, ``edge_deleted``, ``node_marked``, ``ego``, ``ego_plus``.
        k: hops of ego-nets (``ego``/``ego_plus`` only).
        fraction: keep ``ceil(fraction * |bag|)`` random subgraphs per graph (at least one); 1.0 keeps all.
        seed: seed of the sampling generator (fresh samples on every call, reproducible sequence).

    >>> g = Graph(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
    >>> bag = SubgraphBag("node_deleted")(Batch.from_graphs([g]))
    >>> bag.num_graphs, bag.num_nodes, bag.node_map.tolist(), bag.edge_index.tolist()
    (3, 6, [1, 2, 0, 2, 0, 1], [[0, 1, 4, 5], [1, 0, 5, 4]])
    """

    def __init__(self, policy: str = "node_deleted", k: int = 1, fraction: float = 1.0, seed: int = 0) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        check_positive_int("k", k, 0)
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.policy, self.k, self.fraction = policy, k, fraction
        self.generator = torch.Generator().manual_seed(seed)

    def __repr__(self) -> str:
        k = f", k={self.k}" if self.policy in ("ego", "ego_plus") else ""
        return f"SubgraphBag({self.policy!r}{k}, fraction={self.fraction})"

    def __call__(self, graph: Graph) -> SubgraphBatch:
        if not isinstance(graph, Graph):
            raise TypeError(f"SubgraphBag needs a graphkit.Graph or Batch, got {type(graph).__name__}")
        for name in _BOOKKEEPING:
            if name in graph:
                raise ValueError(f"field name {name!r} is reserved by SubgraphBag")
        n = graph.num_nodes
        ei = graph.edge_index_or_empty()
        device = ei.device
        if isinstance(graph, Batch):
            ptr, gon, num_graphs = graph.ptr.to(device), graph.batch.to(device), graph.num_graphs
        else:
            ptr = torch.tensor([0, n], device=device)
            gon, num_graphs = torch.zeros(n, dtype=torch.long, device=device), 1
        graph_c, root_node, root_edge = candidate_roots(self.policy, gon, ei, num_graphs)
        if self.fraction < 1.0:
            keep = sample_roots(graph_c, self.fraction, num_graphs, self.generator)
            graph_c, root_node, root_edge = graph_c[keep], root_node[keep], root_edge[keep]
        num_subs = graph_c.numel()

        if self.policy in ("ego", "ego_plus"):
            rowptr, col, _ = graph.csr_t()
            rooted = (root_node >= 0).nonzero().view(-1)
            s, node = ego_pairs(root_node[rooted], self.k, rowptr, col, n)
            sub = rooted[s]
        else:
            sub, node = all_pairs(graph_c, ptr)
            if self.policy == "node_deleted":
                keep = node != root_node[sub]
                sub, node = sub[keep], node[keep]

        # Edges: for every kept pair (s, u) and edge u -> v of the original graph, keep (s, u) -> (s, v) when
        # (s, v) is kept too. Pairs are sorted by (s, node), so a key lookup is one searchsorted.
        rowptr, col, perm = graph.csr_t()  # outgoing edges by source, the input graph's own (memoised)
        keys = sub * n + node
        deg = rowptr[node + 1] - rowptr[node]
        src = torch.repeat_interleave(torch.arange(sub.numel(), device=device), deg)
        slot = torch.repeat_interleave(rowptr[node], deg) + segment_arange(deg)
        eid, v = perm[slot], col[slot]
        want = sub[src] * n + v
        pos = torch.searchsorted(keys, want).clamp(max=max(keys.numel() - 1, 0))
        ok = keys[pos] == want if keys.numel() else torch.zeros_like(want, dtype=torch.bool)
        if self.policy == "edge_deleted":
            dead = root_edge[sub[src]]
            a, b = ei[0, dead.clamp(min=0)], ei[1, dead.clamp(min=0)]
            s_, t_ = ei[0, eid], ei[1, eid]
            hit = ((s_ == a) & (t_ == b)) | ((s_ == b) & (t_ == a))
            ok &= ~(hit & (dead >= 0))
        src, dst, eid = src[ok], pos[ok], eid[ok]
        # src is sorted (pairs in order), so the edges are grouped by subgraph as a Batch requires.

        node_counts = torch.bincount(sub, minlength=num_subs)
        edge_counts = torch.bincount(sub[src], minlength=num_subs)
        mark = torch.zeros(sub.numel(), device=device)
        if self.policy in MARKED:
            mark = (node == root_node[sub]).to(mark.dtype)
        copy = segment_arange(torch.bincount(graph_c, minlength=num_graphs))
        root = torch.where(root_edge >= 0, root_edge, root_node)
        return _assemble(graph, self.policy, sub, node, src, dst, eid, node_counts, edge_counts,
                         {"node_map": node, "mark": mark},
                         {"subgraph_graph": graph_c, "subgraph_root": root, "subgraph_copy": copy},
                         ptr, gon, num_graphs)


def _assemble(graph: Graph, policy: str, sub: Tensor, node: Tensor, src: Tensor, dst: Tensor, eid: Tensor,
              node_counts: Tensor, edge_counts: Tensor, node_extra: Dict[str, Tensor], sub_extra: Dict[str, Tensor],
              ptr: Tensor, gon: Tensor, num_graphs: int) -> SubgraphBatch:
    """Build the ``SubgraphBatch`` from flat arrays, without a ``Graph`` object per subgraph."""
    sub_graph = sub_extra["subgraph_graph"]

    def per_subgraph(name: str, value: Any) -> Any:
        # Per-graph labels become one row per subgraph; other graph values have no per-subgraph meaning.
        if isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == num_graphs:
            return value[sub_graph]
        return DROP

    # node_index fields (e.g. faces) are left out: they index nodes that a subgraph may have dropped.
    union = graph.select(node, eid, num_nodes=int(sub.numel()), edge_index=None, graph=per_subgraph)
    union.edge_index = torch.stack([src, dst])
    for name, value in node_extra.items():
        union.set(name, value, NODE)
    for name, value in sub_extra.items():
        union.set(name, value, GRAPH)
    zero = node_counts.new_zeros(1)
    out = SubgraphBatch.from_parts(
        union, torch.cat([zero, torch.cumsum(node_counts, 0)]), torch.cat([zero, torch.cumsum(edge_counts, 0)]),
        batch=sub, meta={"orig_edge_index": graph.edge_index_or_empty()},
    )
    object.__setattr__(out, "num_original_nodes", graph.num_nodes)
    object.__setattr__(out, "num_original_graphs", num_graphs)
    object.__setattr__(out, "policy", policy)
    return out
