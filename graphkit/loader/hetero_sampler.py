"""Typed neighbour sampling on a ``HeteroGraph``: per-relation fan-outs, the sampled sub-graph as a ``HeteroGraph``.

Hop ``h`` takes, for every node first reached at hop ``h`` and every relation ``r`` that ends at its type, at most
``num_neighbors[r][h]`` of its incoming ``r`` edges (``-1``: all; PyG's ``NeighborLoader`` semantics on
``HeteroData``). The draws run in the C++ sampler (``sample_neighbors_typed`` in kernels/cpu/sample_neighbors.cpp)
on the graph's relation-grouped CSR (:meth:`HeteroGraph.relation_csr`), one generator per (seed, hop, node,
relation): the result depends on the seed only, never on the thread count. The pure-torch twin serves when the
extension is missing or ``graphkit.ops.use_backend("torch")`` is set (same distribution, other draws).

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
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.hetero import EdgeType, HeteroGraph, NodeType
from graphkit.loader.sampler import SampleOutput, _check_fanouts
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend

__all__ = ["HeteroFanouts", "hetero_fanouts", "typed_seeds", "sample_hetero_neighbors", "to_hetero_subgraph",
           "sample_hetero"]

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


def sample_hetero_neighbors(graph: HeteroGraph, seeds: Tensor, fanouts: List[List[int]], replace: bool = False,
                            seed: int = 0, backend: Optional[str] = None) -> SampleOutput:
    """The raw draw: ``seeds`` are unique *global* ids (``graph.node_offset`` + id within the type);
    ``fanouts[hop][relation]``. Returns global ``n_id`` and ``e_id`` (see :class:`SampleOutput`)."""
    rowptr, col, perm = graph.relation_csr()
    if rowptr.device.type != "cpu":
        raise ValueError(f"the sampler runs on the CPU but the graph is on {rowptr.device}: keep the full graph in "
                         "host memory and move each batch to the GPU")
    flat = [k for hop in fanouts for k in hop]
    args = (rowptr, col, perm, seeds.reshape(-1).long().cpu(), graph.node_ptr, graph.relation_row_offset(),
            torch.tensor([graph.node_types.index(et[2]) for et in graph.edge_types], dtype=torch.long))
    with use_backend(backend) if backend is not None else contextlib.nullcontext():
        return SampleOutput(*K.sample_neighbors_typed(*args, flat, bool(replace), int(seed)))


def to_hetero_subgraph(graph: HeteroGraph, out: SampleOutput, skip: Sequence[str] = ()) -> HeteroGraph:
    """The sampled sub-graph with the graph's types; node/edge fields sliced, ``n_id``/``e_id`` per type."""
    node_ptr, edge_ptr = graph.node_ptr, graph.edge_ptr
    ntype = torch.searchsorted(node_ptr, out.n_id, right=True) - 1
    pos_in_type = torch.empty_like(out.n_id)
    sub = HeteroGraph()
    for t, (nt, store) in enumerate(graph.node_items()):
        idx = (ntype == t).nonzero().view(-1)
        pos_in_type[idx] = torch.arange(idx.numel())
        n_id = out.n_id[idx] - node_ptr[t]
        part = sub.node_store(nt)
        part.num_nodes = int(idx.numel())
        for name, value in store:
            if name not in skip:
                part.set(name, value[n_id])
        part.set("n_id", n_id)
    etype = torch.searchsorted(edge_ptr, out.e_id, right=True) - 1
    for r, (et, store) in enumerate(graph.edge_items()):
        idx = (etype == r).nonzero().view(-1)
        e_id = out.e_id[idx] - edge_ptr[r]
        part = sub.edge_store(et)
        part.set("edge_index", torch.stack([pos_in_type[out.src[idx]], pos_in_type[out.dst[idx]]]))
        for name, value in store:
            if name != "edge_index" and name not in skip:
                part.set(name, value[e_id])
        part.set("e_id", e_id)
    for name, value in graph.globals().items():
        setattr(sub, name, value)
    sub.num_sampled_nodes = out.nodes_per_hop
    sub.num_sampled_edges = out.edges_per_hop
    return sub


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
