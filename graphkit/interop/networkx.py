"""networkx <-> graphkit ``Graph``.

``to_networkx`` gives a ``DiGraph`` (a ``MultiDiGraph`` when the graph has parallel edges, so none is lost):
node ``i`` carries the i-th row of every node field, each edge the row of every edge field, and ``G.graph``
holds the graph fields. ``from_networkx`` relabels nodes to ``0..N-1`` in ``G.nodes`` order, stacks the
attributes back into tensors and, for an undirected graph, emits both directions of every edge.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, Graph, field_kinds
from graphkit.interop._optional import optional_import

__all__ = ["from_networkx", "to_networkx"]

_KINDS_KEY = "graphkit_kinds"
_EMPTY_KEY = "graphkit_empty_shapes"


def to_networkx(graph: Graph) -> Any:
    """Convert a ``Graph`` to a networkx ``DiGraph`` (``MultiDiGraph`` if it has parallel edges)."""
    nx = optional_import("networkx")
    ei = graph.edge_index_or_empty().cpu()
    pairs = ei.t().tolist()
    multi = len(set(map(tuple, pairs))) != len(pairs)
    G = nx.MultiDiGraph() if multi else nx.DiGraph()
    node_fields = graph.fields(NODE)
    edge_fields = graph.fields(EDGE)
    for i in range(graph.num_nodes):
        G.add_node(i, **{name: graph[name][i] for name in node_fields})
    for e, (s, t) in enumerate(pairs):
        G.add_edge(s, t, **{name: graph[name][e] for name in edge_fields})
    for name in graph.keys():
        if graph.kind(name) not in (NODE, EDGE):
            G.graph[name] = graph[name]
    G.graph[_KINDS_KEY] = field_kinds(graph)
    # With no nodes (edges) there is no row to carry a field's shape and dtype: record them for the way back.
    G.graph[_EMPTY_KEY] = {
        name: (list(graph[name].shape[1:]), str(graph[name].dtype).replace("torch.", ""))
        for name in node_fields + edge_fields
    }
    return G


def _stack(values: List[Any], name: str) -> Tensor:
    if all(isinstance(v, Tensor) for v in values):
        return torch.stack(values) if values else torch.empty(0)
    try:
        return torch.as_tensor(values)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"networkx attribute {name!r} cannot be stacked into a tensor: {exc}") from exc


def from_networkx(G: Any, kinds: Optional[Dict[str, str]] = None) -> Graph:
    """Convert a networkx graph to a ``Graph``. Attributes present on every node (edge) become node (edge) fields."""
    nx = optional_import("networkx")
    if not isinstance(G, nx.Graph):
        raise TypeError(f"from_networkx expects a networkx graph, got {type(G).__name__}")
    recorded: Dict[str, str] = dict(G.graph.get(_KINDS_KEY, {}))
    recorded.update(kinds or {})
    index = {node: i for i, node in enumerate(G.nodes)}
    nodes = list(G.nodes(data=True))
    edges = list(G.edges(data=True))
    src = [index[u] for u, _, _ in edges]
    dst = [index[v] for _, v, _ in edges]
    if not G.is_directed():
        src, dst = src + dst, dst + src
        edges = edges + edges
    fields: Dict[str, Any] = {}
    field_kinds: Dict[str, str] = {}
    for kind, items in ((NODE, [d for _, d in nodes]), (EDGE, [d for _, _, d in edges])):
        names = set.intersection(*(set(d) for d in items)) if items else set()
        for name in sorted(names):
            try:
                fields[name] = _stack([d[name] for d in items], name)
            except TypeError as exc:
                # A Graph field is a tensor; text labels and the like have no place and are left out, loudly.
                warnings.warn(f"{kind} attribute {name!r} left out: {exc}", stacklevel=2)
                continue
            field_kinds[name] = kind
    shapes = G.graph.get(_EMPTY_KEY, {})
    for kind, count in ((NODE, len(nodes)), (EDGE, len(edges))):
        for name, k in recorded.items():
            if k == kind and count == 0 and name in shapes:
                tail, dtype = shapes[name]
                fields[name] = torch.empty(0, *tail, dtype=getattr(torch, dtype))
                field_kinds[name] = kind
    for name, value in G.graph.items():
        if name not in (_KINDS_KEY, _EMPTY_KEY):
            fields[name] = value
            field_kinds[name] = recorded.get(name, GRAPH)
    edge_index = torch.tensor([src, dst], dtype=torch.long).view(2, -1)
    return Graph(edge_index=edge_index, num_nodes=len(nodes), kinds=field_kinds, **fields)
