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
from graphkit.interop._optional import optional_import

__all__ = ["from_dgl", "to_dgl"]

_EXTRA = "graphkit_fields"


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


def to_dgl(graph: Graph) -> Any:
    """Convert a ``Graph`` to a ``DGLGraph``; a ``Batch`` becomes a batched ``DGLGraph``."""
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


def from_dgl(g: Any) -> Graph:
    """Convert a ``DGLGraph`` to a ``Graph``; a batched ``DGLGraph`` (``batch_size > 1``) becomes a ``Batch``."""
    dgl = optional_import("dgl")
    if not isinstance(g, dgl.DGLGraph):
        raise TypeError(f"from_dgl expects a dgl.DGLGraph, got {type(g).__name__}")
    extras: List[Dict[str, Tuple[str, Any]]] = getattr(g, _EXTRA + "_list", None) or []
    if g.batch_size > 1 or extras:
        parts = dgl.unbatch(g)
        extras = extras or [{} for _ in parts]
        return Batch.from_graphs([_one_from_dgl(p, e) for p, e in zip(parts, extras)])
    return _one_from_dgl(g, getattr(g, _EXTRA, {}))
