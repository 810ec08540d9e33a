"""DGL ``DGLGraph`` (batched or not) <-> graphkit ``Graph``/``Batch``.

Node fields become ``ndata`` and edge fields ``edata`` under the same names. A DGLGraph has no place for
per-graph values or node-index fields, so ``to_dgl`` keeps them in a plain attribute
(``dgl_graph.graphkit_fields``: name -> (kind, value)) that ``from_dgl`` reads back; the round trip is exact.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import torch

from graphkit.batch import Batch
from graphkit.graph import EDGE, NODE, Graph
from graphkit.hetero import HeteroGraph
from graphkit.interop._optional import optional_import

__all__ = ["from_dgl", "to_dgl"]

_EXTRA = "graphkit_fields"
_HETERO = "graphkit_hetero"


def _one_to_dgl(graph: Graph) -> Any:
    dgl = optional_import("dgl")
    ei = graph.edge_index_or_empty()
    g = dgl.graph((ei[0], ei[1]), num_nodes=graph.num_nodes, idtype=torch.int64, device=ei.device)
    extra: Dict[str, Tuple[str, Any]] = {}
    for name, value in graph:
        kind = graph.kind(name)
        if kind == NODE:
            g.ndata[name] = value
        elif kind == EDGE:
            g.edata[name] = value
        else:
            extra[name] = (kind, value)
    setattr(g, _EXTRA, extra)
    return g


def _hetero_to_dgl(h: HeteroGraph) -> Any:
    dgl = optional_import("dgl")
    data = {et: (s["edge_index"][0], s["edge_index"][1]) for et, s in h.edge_items()}
    device = h.adj.device
    g = dgl.heterograph(data, num_nodes_dict=h.num_nodes_dict, idtype=torch.int64, device=device)
    for nt, store in h.node_items():
        for name, value in store:
            g.nodes[nt].data[name] = value
    for et, store in h.edge_items():
        for name, value in store:
            if name != "edge_index":
                g.edges[et].data[name] = value
    # DGL sorts types by name and has no graph-level fields: keep graphkit's order and globals alongside.
    setattr(g, _HETERO, {"metadata": h.metadata(), "globals": h.globals()})
    return g


def _hetero_from_dgl(g: Any) -> HeteroGraph:
    extra = getattr(g, _HETERO, None)
    meta = extra["metadata"] if isinstance(extra, dict) and "metadata" in extra else (g.ntypes, g.canonical_etypes)
    h = HeteroGraph()
    for nt in meta[0]:
        store = h.node_store(nt)
        store.num_nodes = int(g.num_nodes(nt))
        for name, value in g.nodes[nt].data.items():
            store.set(name, value)
    for et in meta[1]:
        src, dst = g.edges(order="eid", etype=tuple(et))
        store = h.edge_store(tuple(et))
        store.set("edge_index", torch.stack([src, dst]).long())
        for name, value in g.edges[tuple(et)].data.items():
            store.set(name, value)
    for name, value in (extra.get("globals", {}) if isinstance(extra, dict) else {}).items():
        setattr(h, name, value)
    return h


def to_dgl(graph: Any) -> Any:
    """Convert a ``Graph`` to a ``DGLGraph``; a ``Batch`` becomes a batched ``DGLGraph``; a ``HeteroGraph`` a
    DGL heterograph (types, counts, fields kept; graphkit's type order and graph-level fields ride along)."""
    if isinstance(graph, HeteroGraph):
        return _hetero_to_dgl(graph)
    if not isinstance(graph, Graph):
        raise TypeError(f"to_dgl expects a graphkit Graph, got {type(graph).__name__}")
    if isinstance(graph, Batch):
        dgl = optional_import("dgl")
        parts = graph.to_graphs()
        batched = dgl.batch([_one_to_dgl(g) for g in parts])
        setattr(batched, _EXTRA + "_list", [getattr(_one_to_dgl(g), _EXTRA) for g in parts])
        return batched
    return _one_to_dgl(graph)


def _one_from_dgl(g: Any, extra: Dict[str, Tuple[str, Any]]) -> Graph:
    src, dst = g.edges(order="eid")
    fields: Dict[str, Any] = {}
    kinds: Dict[str, str] = {}
    for name, value in g.ndata.items():
        fields[name], kinds[name] = value, NODE
    for name, value in g.edata.items():
        fields[name], kinds[name] = value, EDGE
    for name, (kind, value) in extra.items():
        fields[name], kinds[name] = value, kind
    edge_index = torch.stack([src, dst]).long()
    return Graph(edge_index=edge_index, num_nodes=g.num_nodes(), kinds=kinds, **fields)


def from_dgl(g: Any) -> Any:
    """Convert a ``DGLGraph`` to a ``Graph``, a heterograph to a ``HeteroGraph``; a batched ``DGLGraph``
    (``batch_size > 1``) becomes a ``Batch``."""
    dgl = optional_import("dgl")
    if not isinstance(g, dgl.DGLGraph):
        raise TypeError(f"from_dgl expects a dgl.DGLGraph, got {type(g).__name__}")
    if not g.is_homogeneous or hasattr(g, _HETERO):
        if g.batch_size > 1:
            raise ValueError(f"from_dgl: a batched heterograph ({g.batch_size} graphs) is not supported; "
                             "dgl.unbatch it and convert each graph")
        return _hetero_from_dgl(g)
    extras: List[Dict[str, Tuple[str, Any]]] = getattr(g, _EXTRA + "_list", None) or []
    if g.batch_size > 1 or extras:
        parts = dgl.unbatch(g)
        extras = extras or [{} for _ in parts]
        return Batch.from_graphs([_one_from_dgl(p, e) for p, e in zip(parts, extras)])
    return _one_from_dgl(g, getattr(g, _EXTRA, {}))
