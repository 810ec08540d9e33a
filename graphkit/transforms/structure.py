"""Structure transforms: ``ToUndirected``, ``AddSelfLoops``, ``RemoveSelfLoops``, ``RemoveIsolatedNodes``,
``VirtualNode``. Per-edge fields always follow their edges."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.transforms.base import BaseTransform, fields_of, new_graph
from graphkit.utils import add_self_loops, to_undirected
from graphkit.utils.loop import FillValue

__all__ = ["ToUndirected", "AddSelfLoops", "RemoveSelfLoops", "RemoveIsolatedNodes", "VirtualNode"]


def _edges(graph: Graph) -> Tensor:
    ei = graph.edge_index
    return ei if ei is not None else torch.empty(2, 0, dtype=torch.long)


class ToUndirected(BaseTransform):
    """Add the reverse of every edge and merge duplicates (their per-edge fields reduced with ``reduce``); the
    edges come out sorted by (source, target), as with :func:`graphkit.utils.to_undirected`.

    >>> g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), edge_weight=torch.tensor([1.0, 2.0]))
    >>> out = ToUndirected()(g)
    >>> out.edge_index.tolist(), out.edge_weight.tolist()
    ([[0, 1, 1, 2], [1, 0, 2, 1]], [1.0, 1.0, 2.0, 2.0])
    """

    def __init__(self, reduce: str = "add", merge: bool = True) -> None:
        self.reduce, self.merge = reduce, merge  # merge: PyG's flag for heterogeneous graphs, no-op here

    def forward(self, graph: Graph) -> Graph:
        fields = fields_of(graph)
        names = [k for k, (_, kind) in fields.items() if kind == "edge"]
        ei, values = to_undirected(_edges(graph), [fields[k][0] for k in names], graph.num_nodes, self.reduce)
        for k, v in zip(names, values):
            fields[k] = (v, "edge")
        return new_graph(graph.num_nodes, ei, fields)


class AddSelfLoops(BaseTransform):
    """Append a self-loop to every node; the per-edge field ``attr`` gets ``fill_value`` on the loops (see
    :func:`graphkit.utils.add_self_loops`). Any other per-edge field raises ``ValueError``, since its loop value
    would have to be invented: name it in ``attr``.

    >>> g = Graph(edge_index=torch.tensor([[0], [1]]), edge_weight=torch.tensor([0.5]))
    >>> AddSelfLoops(fill_value=2.0)(g).edge_weight.tolist()
    [0.5, 2.0, 2.0]
    """

    def __init__(self, attr: str = "edge_weight", fill_value: FillValue = None) -> None:
        self.attr, self.fill_value = attr, fill_value

    def forward(self, graph: Graph) -> Graph:
        fields = fields_of(graph)
        others = [k for k, (_, kind) in fields.items() if kind == "edge" and k != self.attr]
        if others:
            raise ValueError(f"AddSelfLoops(attr={self.attr!r}) cannot give self-loops a value for the per-edge "
                             f"field(s) {others}; pass attr=<that field> or remove them first")
        attr = fields[self.attr][0] if self.attr in fields else None
        ei, attr = add_self_loops(_edges(graph), attr, self.fill_value, graph.num_nodes)
        if attr is not None:
            fields[self.attr] = (attr, "edge")
        return new_graph(graph.num_nodes, ei, fields)


class RemoveSelfLoops(BaseTransform):
    """Remove every self-loop, with the rows of all per-edge fields.

    >>> RemoveSelfLoops()(Graph(edge_index=torch.tensor([[0, 1], [0, 0]]))).edge_index.tolist()
    [[1], [0]]
    """

    def __init__(self, attr: str = "edge_weight") -> None:
        self.attr = attr  # PyG's argument; every per-edge field is filtered here

    def forward(self, graph: Graph) -> Graph:
        ei = _edges(graph)
        keep = ei[0] != ei[1]
        fields = {k: (v[keep] if kind == "edge" else v, kind) for k, (v, kind) in fields_of(graph).items()}
        return new_graph(graph.num_nodes, ei[:, keep], fields)


def relabel_nodes(graph: Graph, keep: Tensor) -> Graph:
    """The subgraph on the nodes where ``keep`` is true, renumbered in order: node and edge fields are filtered,
    ``node_index`` fields renumbered (an entry pointing at a dropped node raises ``ValueError``)."""
    new_id = torch.full((keep.numel(),), -1, dtype=torch.long, device=keep.device)
    new_id[keep] = torch.arange(int(keep.sum()), device=keep.device)
    ei = _edges(graph)
    edge_mask = keep[ei[0]] & keep[ei[1]]
    ei = new_id[ei[:, edge_mask]]
    fields = fields_of(graph)
    for name, (value, kind) in list(fields.items()):
        if kind == "node":
            fields[name] = (value[keep], kind)
        elif kind == "node_index":
            mapped = new_id[value]
            if mapped.numel() and int(mapped.min()) < 0:
                raise ValueError(f"field {name!r} refers to a node that was removed")
            fields[name] = (mapped, kind)
        elif kind == "edge":
            fields[name] = (value[edge_mask], kind)
    return new_graph(int(keep.sum()), ei, fields)


class RemoveIsolatedNodes(BaseTransform):
    """Remove the nodes that no edge touches (a self-loop counts as touching) and renumber the rest in order.

    >>> g = Graph(x=torch.arange(4.0).view(-1, 1), edge_index=torch.tensor([[0], [3]]))
    >>> out = RemoveIsolatedNodes()(g)
    >>> out.x.view(-1).tolist(), out.edge_index.tolist()
    ([0.0, 3.0], [[0], [1]])
    """

    def forward(self, graph: Graph) -> Graph:
        ei = _edges(graph)
        keep = torch.zeros(graph.num_nodes, dtype=torch.bool, device=ei.device)
        keep[ei.reshape(-1)] = True
        return relabel_nodes(graph, keep)


class VirtualNode(BaseTransform):
    """Add one node linked to every node in both directions (Gilmer et al. 2017), as PyG does: its node fields are
    zeros; the new edges get ``edge_weight`` 1 and zeros in other per-edge fields, and ``edge_type`` tells the
    three kinds apart (original edges keep theirs, default 0; node -> virtual is ``t``, virtual -> node ``t + 1``,
    with ``t`` one more than the largest original type).

    >>> out = VirtualNode()(Graph(x=torch.ones(2, 1), edge_index=torch.tensor([[0], [1]])))
    >>> out.edge_index.tolist(), out.edge_type.tolist(), out.x.view(-1).tolist()
    ([[0, 0, 1, 2, 2], [1, 2, 2, 0, 1]], [0, 1, 1, 2, 2], [1.0, 1.0, 0.0])
    """

    def forward(self, graph: Graph) -> Graph:
        n = graph.num_nodes
        ei = _edges(graph)
        fields = fields_of(graph)
        edge_type = fields.pop("edge_type", (torch.zeros(ei.size(1), dtype=torch.long, device=ei.device), "edge"))[0]
        nodes = torch.arange(n, device=ei.device)
        virtual = torch.full((n,), n, dtype=torch.long, device=ei.device)
        out_ei = torch.cat([ei, torch.stack([nodes, virtual]), torch.stack([virtual, nodes])], dim=1)
        first = int(edge_type.max()) + 1 if edge_type.numel() else 1
        new_type = edge_type.new_full((n,), first)
        out_fields: Any = {}
        for name, (value, kind) in fields.items():
            if kind == "node":
                value = torch.cat([value, value.new_zeros((1,) + tuple(value.shape[1:]))])
            elif kind == "edge":
                pad = value.new_full((2 * n,) + tuple(value.shape[1:]), 1 if name == "edge_weight" else 0)
                value = torch.cat([value, pad])
            out_fields[name] = (value, kind)
        out_fields["edge_type"] = (torch.cat([edge_type, new_type, new_type + 1]), "edge")
        return new_graph(n + 1, out_ei, out_fields)
