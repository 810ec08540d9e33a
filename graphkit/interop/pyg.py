"""PyG ``Data``/``Batch`` <-> graphkit ``Graph``/``Batch``.

Field kinds come from PyG's own bookkeeping (``is_node_attr``/``is_edge_attr``, and ``__cat_dim__ == -1`` for
index fields such as ``face``), unless ``kinds`` overrides them. ``to_pyg`` records graphkit's kinds on the
``Data`` object, so ``from_pyg(to_pyg(g))`` is exact whatever PyG would have guessed.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import EDGE, GRAPH, NODE, NODE_INDEX, Graph, field_kinds
from graphkit.hetero import HeteroGraph
from graphkit.interop._optional import optional_import

__all__ = ["from_pyg", "to_pyg"]

_KINDS_ATTR = "_graphkit_kinds"


def _pyg_kind(data: Any, key: str, value: Any) -> str:
    if isinstance(value, Tensor) and value.dim() > 0:
        if data.is_edge_attr(key):
            return EDGE
        if data.is_node_attr(key):
            return NODE
        if data.__cat_dim__(key, value) == -1 and not value.is_floating_point():
            return NODE_INDEX
    return GRAPH


def _from_data(data: Any, kinds: Optional[Dict[str, str]]) -> Graph:
    recorded: Dict[str, str] = dict(data.__dict__.get(_KINDS_ATTR) or {})
    recorded.update(kinds or {})
    fields: Dict[str, Any] = {}
    found: Dict[str, str] = {}
    for key, value in data.items():
        if key in ("edge_index", "num_nodes", "batch", "ptr"):
            continue
        fields[key] = value
        found[key] = recorded.get(key) or _pyg_kind(data, key, value)
    return Graph(edge_index=data.edge_index, num_nodes=data.num_nodes, kinds=found, **fields)


def _from_hetero(data: Any) -> HeteroGraph:
    # Node types first (their counts bound the edge indices), then edge types, then graph-level values.
    h = HeteroGraph()
    for nt in data.node_types:
        store = h.node_store(nt)
        store.num_nodes = int(data[nt].num_nodes)
        for key, value in data[nt].items():
            if key != "num_nodes":
                store.set(key, value)
    for et in data.edge_types:
        store = h.edge_store(et)
        if "edge_index" in data[et]:
            store.set("edge_index", data[et].edge_index)
        for key, value in data[et].items():
            if key != "edge_index":
                store.set(key, value)
    for key, value in data.to_dict().get("_global_store", {}).items():  # graph-level values (PyG's to_dict key)
        setattr(h, key, value)
    return h


def _to_hetero(h: HeteroGraph) -> Any:
    pyg_data = optional_import("torch_geometric.data")
    data = pyg_data.HeteroData()
    for nt, store in h.node_items():
        data[nt].num_nodes = h.num_nodes_dict[nt]
        for key, value in store:
            data[nt][key] = value
    for et, store in h.edge_items():
        for key, value in store:
            data[et][key] = value
    for key, value in h.globals().items():
        data[key] = value
    return data


def from_pyg(data: Any, kinds: Optional[Dict[str, str]] = None) -> Any:
    """Convert a PyG ``Data`` to a ``Graph``, a PyG ``Batch`` to a ``Batch``, a ``HeteroData`` to a
    :class:`~graphkit.hetero.HeteroGraph` (types, counts, fields and order kept exactly)."""
    pyg_data = optional_import("torch_geometric.data")
    if isinstance(data, pyg_data.HeteroData):
        if kinds:
            raise ValueError("kinds does not apply to a HeteroData: every field of a type is per node or per edge")
        return _from_hetero(data)
    if isinstance(data, pyg_data.Batch):
        # to_data_list() makes fresh Data objects: carry the kinds recorded on the batch over to each.
        merged = {**(data.__dict__.get(_KINDS_ATTR) or {}), **(kinds or {})}
        return Batch.from_graphs([_from_data(d, merged) for d in data.to_data_list()])
    if not isinstance(data, pyg_data.Data):
        raise TypeError(f"from_pyg expects a torch_geometric Data or Batch, got {type(data).__name__}")
    return _from_data(data, kinds)


def _to_data(graph: Graph) -> Any:
    pyg_data = optional_import("torch_geometric.data")
    data = pyg_data.Data(num_nodes=graph.num_nodes)
    if graph.edge_index is not None:
        data.edge_index = graph.edge_index
    for key, value in graph:
        data[key] = value
    data.__dict__[_KINDS_ATTR] = field_kinds(graph)
    return data


def to_pyg(graph: Any) -> Any:
    """Convert a ``Graph`` to a PyG ``Data``, a ``Batch`` to a PyG ``Batch``, a ``HeteroGraph`` to a ``HeteroData``."""
    if isinstance(graph, HeteroGraph):
        return _to_hetero(graph)
    if not isinstance(graph, Graph):
        raise TypeError(f"to_pyg expects a graphkit Graph, got {type(graph).__name__}")
    if isinstance(graph, Batch):
        pyg_data = optional_import("torch_geometric.data")
        batch = pyg_data.Batch.from_data_list([_to_data(g) for g in graph.to_graphs()])
        batch.__dict__[_KINDS_ATTR] = field_kinds(graph)
        return batch
    return _to_data(graph)
