"""Typed neighbour sampling on a ``HeteroGraph``: per-relation fan-outs, the sampled sub-graph as a ``HeteroGraph``.

Hop ``h`` takes, for every node first reached at hop ``h`` and every relation ``r`` that ends at its type, at most
``num_neighbors[r][h]`` of its incoming ``r`` edges (``-1``: all; PyG's ``NeighborLoader`` semantics on
``HeteroData``). The draws run in the C++ sampler (``sample_neighbors_typed`` in
kernels/cpu/sample_neighbors_typed.cpp) on the graph's relation-grouped CSR (:meth:`HeteroGraph.relation_csr`), one
generator per (seed, hop, node, relation): the result depends on the seed only, never on the thread count. The
pure-torch twin serves when the extension is missing or ``graphkit.ops.use_backend("torch")`` is set (same
distribution, other draws).

The sub-graph keeps the graph's node and edge types. Per node type: ``n_id`` (ids within the type), the node
fields sliced by it; per edge type: ``edge_index`` in the sub-graph's per-type ids, ``e_id`` and the edge fields.
Seeds come first within their type, in the order given.

>>> import torch
>>> from graphkit import HeteroGraph
>>> h = HeteroGraph({"a": {"x": torch.randn(3, 2)}, "p": 2},
...                 {("a", "w", "p"): torch.tensor([[0, 1, 2], [0, 0, 1]]), ("p", "c", "p"): torch.tensor([[1], [0]])})
>>> sub = sample_hetero(h, ("p", torch.tensor([0])), {("a", "w", "p"): [1], ("p", "c", "p"): [-1]}, seed=0)
>>> sub["p"].n_id.tolist(), sub["a"].n_id.numel(), sub["c"].edge_index.tolist()
([0, 1], 1, [[1], [0]])
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.hetero import EdgeType, HeteroGraph, NodeType
from graphkit.loader.sampler import _check_fanouts
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend

__all__ = ["HeteroFanouts", "hetero_fanouts", "typed_seeds", "TypedSampleOutput", "TypedCsr", "typed_csr",
           "sample_hetero_neighbors", "to_hetero_subgraph", "sample_hetero"]

#: A list (the same fan-outs for every relation) or ``{edge_type: [per hop]}`` covering every relation.
HeteroFanouts = Union[Sequence[int], Mapping[EdgeType, Sequence[int]]]


def hetero_fanouts(graph: HeteroGraph, num_neighbors: HeteroFanouts, replace: bool = False) -> List[List[int]]:
    """``[hop][relation]`` fan-outs in ``graph.edge_types`` order, checked (a ``ValueError`` names the relation)."""
    types = graph.edge_types
    if isinstance(num_neighbors, Mapping):
        unknown = [et for et in num_neighbors if tuple(et) not in types]
        if unknown:
            raise ValueError(f"num_neighbors names edge type {unknown[0]!r}, which the graph does not have "
                             f"(edge types: {types})")
        missing = [et for et in types if et not in num_neighbors]
        if missing:
            raise ValueError(f"num_neighbors has no fan-outs for edge type {missing[0]!r}; give every relation a "
                             "list (0 to skip it)")
        per_rel = {et: _check_fanouts(list(num_neighbors[et]), replace) for et in types}
        hops = {len(v) for v in per_rel.values()}
        if len(hops) > 1:
            raise ValueError(f"num_neighbors lists have different lengths {sorted(hops)}; every relation needs one "
                             "fan-out per hop")
    else:
        same = _check_fanouts(list(num_neighbors), replace)
        per_rel = {et: same for et in types}
    num_hops = len(next(iter(per_rel.values()))) if per_rel else 0
    return [[per_rel[et][h] for et in types] for h in range(num_hops)]


def typed_seeds(graph: HeteroGraph, input_nodes: Union[NodeType, Tuple[NodeType, Optional[Tensor]]]
                ) -> Tuple[NodeType, Tensor]:
    """``(type, ids within the type)`` from PyG's ``input_nodes``: a type, or ``(type, ids | mask | None)``."""
    from graphkit.loader.neighbor_loader import as_index  # shared rule: ids, a mask or None (all)

    if isinstance(input_nodes, str):
        input_nodes = (input_nodes, None)
    if not (isinstance(input_nodes, tuple) and len(input_nodes) == 2 and isinstance(input_nodes[0], str)):
        raise ValueError(f"input_nodes of a HeteroGraph must be a node type or (node type, ids), got {input_nodes!r}")
    nt, nodes = input_nodes
    if nt not in graph.node_types:
        raise ValueError(f"input_nodes names node type {nt!r}, which the graph does not have ({graph.node_types})")
    n = graph.num_nodes_dict[nt]
    ids = as_index(nodes, n, f"input_nodes[{nt!r}]")
    if ids.numel():
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"input_nodes[{nt!r}] has index {hi if hi >= n else lo} but node type {nt!r} has "
                             f"{n} nodes")
    return nt, ids


class TypedSampleOutput(NamedTuple):
    """What one typed sampling call returns (all int64), already grouped as the batch stores it.

    ``n_id[t]`` [N_t] the sampled nodes of node type ``t`` (ids within the type) in order of first reach, seeds
    first in the order given; ``edge_index[r]`` [2, E_r] relation ``r``'s sampled edges, endpoints as positions in
    ``n_id`` of their types; ``e_id[r]`` [E_r] their ids within the relation, in sampling order (hop, target,
    draw); ``nodes_per_hop`` [L+1] and ``edges_per_hop`` [L] over all types (seeds first). Types and relations in
    ``graph.metadata()`` order.
    """

    n_id: List[Tensor]
    edge_index: List[Tensor]
    e_id: List[Tensor]
    nodes_per_hop: Tensor
    edges_per_hop: Tensor


class TypedCsr(NamedTuple):
    """The typed sampler's view of a ``HeteroGraph``: :meth:`HeteroGraph.relation_csr` and the id ranges and end
    types of its node types and relations (the structure arguments of ``sample_neighbors_typed``)."""

    rowptr: Tensor
    col: Tensor
    perm: Tensor
    node_ptr: Tensor
    edge_ptr: Tensor
    rel_row_off: Tensor
    rel_src_type: Tensor
    rel_dst_type: Tensor


def typed_csr(graph: HeteroGraph) -> TypedCsr:
    """:class:`TypedCsr` of ``graph``, built once and memoised with its structure (a cache hit per batch)."""
    def build() -> TypedCsr:
        rowptr, col, perm = graph.relation_csr()
        index = {nt: t for t, nt in enumerate(graph.node_types)}
        ends = torch.tensor([[index[s], index[d]] for s, _, d in graph.edge_types], dtype=torch.long).view(-1, 2)
        return TypedCsr(rowptr, col, perm, graph.node_ptr, graph.edge_ptr, graph.relation_row_offset(),
                        ends[:, 0].contiguous(), ends[:, 1].contiguous())

    return graph.derived("typed_csr", build)


def sample_hetero_neighbors(graph: HeteroGraph, seeds: Tensor, fanouts: List[List[int]], replace: bool = False,
                            seed: int = 0, backend: Optional[str] = None) -> TypedSampleOutput:
    """The raw draw: ``seeds`` are unique *global* ids (``graph.node_offset`` + id within the type);
    ``fanouts[hop][relation]``. Returns the sample grouped by type and relation (see :class:`TypedSampleOutput`)."""
    csr = typed_csr(graph)
    if csr.rowptr.device.type != "cpu":
        raise ValueError(f"the sampler runs on the CPU but the graph is on {csr.rowptr.device}: keep the full graph "
                         "in host memory and move each batch to the GPU")
    flat = [k for hop in fanouts for k in hop]
    args = (csr.rowptr, csr.col, csr.perm, seeds.reshape(-1).long().cpu(), *csr[3:], flat, bool(replace), int(seed))
    with use_backend(backend) if backend is not None else contextlib.nullcontext():
        return TypedSampleOutput(*K.sample_neighbors_typed(*args))


def to_hetero_subgraph(graph: HeteroGraph, out: TypedSampleOutput, skip: Sequence[str] = ()) -> HeteroGraph:
    """The sampled sub-graph with the graph's types; node/edge fields sliced, ``n_id``/``e_id`` per type.

    The sampler's output is correct by construction (ids in range, one row per node or edge), so the batch is
    built trusted: no per-field checks."""
    nodes = {}
    for (nt, store), n_id in zip(graph.node_items(), out.n_id):
        fields = {name: value[n_id] for name, value in store if name not in skip}
        fields["n_id"] = n_id
        nodes[nt] = (int(n_id.numel()), fields)
    edges = {}
    for (et, store), edge_index, e_id in zip(graph.edge_items(), out.edge_index, out.e_id):
        fields = {"edge_index": edge_index}
        fields.update((name, value[e_id]) for name, value in store if name != "edge_index" and name not in skip)
        fields["e_id"] = e_id
        edges[et] = fields
    graph_fields = {**graph.globals(), "num_sampled_nodes": out.nodes_per_hop,
                    "num_sampled_edges": out.edges_per_hop}
    return HeteroGraph.trusted(nodes, edges, graph_fields)


def sample_hetero(graph: HeteroGraph, input_nodes: Union[NodeType, Tuple[NodeType, Optional[Tensor]]],
                  num_neighbors: HeteroFanouts, replace: bool = False, seed: int = 0,
                  backend: Optional[str] = None) -> HeteroGraph:
    """One sampled sub-graph around ``input_nodes`` = ``(type, unique ids)``; see the module docstring."""
    nt, ids = typed_seeds(graph, input_nodes)
    fanouts = hetero_fanouts(graph, num_neighbors, replace)
    out = sample_hetero_neighbors(graph, ids + graph.node_offset[nt], fanouts, replace, seed, backend)
    sub = to_hetero_subgraph(graph, out)
    sub.input_type = nt
    sub.batch_size = int(ids.numel())
    return sub


def global_ids(graph: HeteroGraph, parts: Dict[NodeType, Tensor]) -> Tensor:
    """Ids within each type -> global ids (``graph.node_offset``)."""
    off = graph.node_offset
    return torch.cat([ids + off[nt] for nt, ids in parts.items()]) if parts else torch.empty(0, dtype=torch.long)
