"""``HeteroBatch``: many ``HeteroGraph`` objects as one disconnected ``HeteroGraph``.

The batching rules of :mod:`graphkit.batch`, per type:

* each node type's fields are concatenated along dim 0, in graph order;
* each edge type's ``edge_index`` is concatenated, graph ``i``'s source (target) ids offset by the number of
  nodes of the source (target) type in the graphs before it; its fields are concatenated along dim 0;
* graph-level tensors are concatenated along dim 0 (0-dim tensors stacked into ``[B]``); other values become a list.

``ptr_dict[t]`` holds the node offsets of type ``t`` per graph, ``batch_dict[t]`` each node's graph, and
``to_graphs()`` gives the originals back exactly (same types, fields, dtypes and values). ``Batch.from_graphs``
hands a list of ``HeteroGraph`` here, so ``graphkit.loader.DataLoader`` batches heterogeneous graphs too.

>>> import torch
>>> a = HeteroGraph({"u": {"x": torch.zeros(2, 1)}, "i": 1}, {("u", "r", "i"): torch.tensor([[1], [0]])})
>>> b = HeteroGraph({"u": {"x": torch.ones(1, 1)}, "i": 2}, {("u", "r", "i"): torch.tensor([[0], [1]])})
>>> hb = HeteroBatch.from_graphs([a, b])
>>> hb["r"].edge_index.tolist(), hb.ptr_dict["i"].tolist(), hb.num_graphs
([[1, 2], [0, 2]], [0, 1, 3], 2)
>>> torch.equal(hb.to_graphs()[1]["r"].edge_index, b["r"].edge_index)
True
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

import torch
from torch import Tensor

from graphkit.hetero import HeteroGraph, NodeType

__all__ = ["HeteroBatch"]


def _offsets(counts: List[int]) -> Tensor:
    return torch.tensor([0] + counts, dtype=torch.long).cumsum(0)


class HeteroBatch(HeteroGraph):
    """A disjoint union of heterogeneous graphs that can split itself again (see the module docstring)."""

    @classmethod
    def from_graphs(cls, graphs: Sequence[HeteroGraph]) -> "HeteroBatch":
        graphs = list(graphs)
        if not graphs:
            raise ValueError("HeteroBatch.from_graphs needs at least one graph")
        first = graphs[0]
        for i, g in enumerate(graphs):
            if not isinstance(g, HeteroGraph):
                raise TypeError(f"graphs[{i}] is a {type(g).__name__}, not a graphkit.HeteroGraph")
            if g.metadata() != first.metadata():
                raise ValueError(f"graphs[{i}] has metadata {g.metadata()} but graphs[0] has {first.metadata()}; "
                                 "every graph in a batch needs the same node and edge types")
            for key, store in [*g.node_items(), *g.edge_items()]:
                if store.keys() != first[key].keys():
                    raise ValueError(f"graphs[{i}]: {key!r} has fields {store.keys()} but graphs[0] has "
                                     f"{first[key].keys()}")
            if sorted(g.globals()) != sorted(first.globals()):
                raise ValueError(f"graphs[{i}] has graph-level fields {sorted(g.globals())} but graphs[0] has "
                                 f"{sorted(first.globals())}")
        counts = {nt: [g.num_nodes_dict[nt] for g in graphs] for nt in first.node_types}
        ptr = {nt: _offsets(c) for nt, c in counts.items()}
        out = cls()
        for nt in first.node_types:
            store = out.node_store(nt)
            store.num_nodes = int(ptr[nt][-1])
            for name in first[nt].keys():
                store.set(name, _cat(nt, name, [g[nt][name] for g in graphs]))
        edge_counts = {}
        for et in first.edge_types:
            src, _, dst = et
            parts = [g[et]["edge_index"] for g in graphs]
            edge_counts[et] = [int(p.size(1)) for p in parts]
            shift = torch.stack([torch.repeat_interleave(ptr[src][:-1], torch.tensor(edge_counts[et])),
                                 torch.repeat_interleave(ptr[dst][:-1], torch.tensor(edge_counts[et]))])
            store = out.edge_store(et)
            store.set("edge_index", torch.cat(parts, dim=1) + shift.to(parts[0].device))
            for name in first[et].keys():
                if name != "edge_index":
                    store.set(name, _cat(et, name, [g[et][name] for g in graphs]))
        slices: Dict[str, List[int]] = {}
        for name in first.globals():
            values = [g.globals()[name] for g in graphs]
            if all(isinstance(v, Tensor) and v.dim() == 0 for v in values):
                setattr(out, name, torch.stack(values))
            elif all(isinstance(v, Tensor) and v.dim() > 0 for v in values):
                setattr(out, name, torch.cat(values))
                slices[name] = _offsets([int(v.size(0)) for v in values]).tolist()
            else:
                setattr(out, name, list(values))
        object.__setattr__(out, "_ptr", ptr)
        object.__setattr__(out, "_edge_ptr", {et: _offsets(c) for et, c in edge_counts.items()})
        object.__setattr__(out, "_global_slices", slices)
        object.__setattr__(out, "_num_graphs", len(graphs))
        return out

    @classmethod
    def from_data_list(cls, graphs: Sequence[HeteroGraph]) -> "HeteroBatch":
        """PyG's name for :meth:`from_graphs`."""
        return cls.from_graphs(graphs)

    @property
    def num_graphs(self) -> int:
        return self._num_graphs

    @property
    def ptr_dict(self) -> Dict[NodeType, Tensor]:
        """Per node type, ``[B+1]`` offsets: graph ``i`` owns nodes ``ptr[i]:ptr[i+1]`` of that type."""
        return dict(self._ptr)

    @property
    def batch_dict(self) -> Dict[NodeType, Tensor]:
        """Per node type, the graph id of every node."""
        return {nt: torch.repeat_interleave(torch.arange(p.numel() - 1), p[1:] - p[:-1]) for nt, p in self._ptr.items()}

    def get_graph(self, i: int) -> HeteroGraph:
        """Graph ``i`` of the batch."""
        if not -self.num_graphs <= i < self.num_graphs:
            raise IndexError(f"graph index {i} is out of range for a batch of {self.num_graphs}")
        i %= self.num_graphs
        out = HeteroGraph()
        n0 = {nt: int(p[i]) for nt, p in self._ptr.items()}
        for nt, store in self.node_items():
            n1 = int(self._ptr[nt][i + 1])
            part = out.node_store(nt)
            part.num_nodes = n1 - n0[nt]
            for name, value in store:
                part.set(name, value[n0[nt]:n1])
        for et, store in self.edge_items():
            e0, e1 = int(self._edge_ptr[et][i]), int(self._edge_ptr[et][i + 1])
            part = out.edge_store(et)
            shift = torch.tensor([[n0[et[0]]], [n0[et[2]]]], device=store["edge_index"].device)
            part.set("edge_index", store["edge_index"][:, e0:e1] - shift)  # checked: a file may carry bad offsets
            for name, value in store:
                if name != "edge_index":
                    part.set(name, value[e0:e1])
        for name, value in self.globals().items():
            if name in self._global_slices:
                s = self._global_slices[name]
                setattr(out, name, value[s[i]:s[i + 1]])
            else:
                setattr(out, name, value[i])
        return out

    def to_graphs(self) -> List[HeteroGraph]:
        """Split back into the graphs this batch was made from."""
        return [self.get_graph(i) for i in range(self.num_graphs)]

    def to_data_list(self) -> List[HeteroGraph]:
        """PyG's name for :meth:`to_graphs`."""
        return self.to_graphs()

    def map_tensors(self, fn: Any) -> "HeteroBatch":
        out = super().map_tensors(fn)
        object.__setattr__(out, "_ptr", dict(self._ptr))  # bookkeeping stays on the CPU, as Batch's edge_ptr
        return out  # type: ignore[return-value]

    def _extra_state(self) -> Dict[str, Any]:
        return {"ptr": dict(self._ptr), "edge_ptr": dict(self._edge_ptr), "slices": dict(self._global_slices),
                "num_graphs": self._num_graphs}

    def _load_extra_state(self, state: Dict[str, Any]) -> None:
        object.__setattr__(self, "_ptr", dict(state["ptr"]))
        object.__setattr__(self, "_edge_ptr", {tuple(k): v for k, v in state["edge_ptr"].items()})
        object.__setattr__(self, "_global_slices", dict(state["slices"]))
        object.__setattr__(self, "_num_graphs", int(state["num_graphs"]))

    def __len__(self) -> int:
        return self.num_graphs

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", num_graphs={self.num_graphs})"


def _cat(key: Any, name: str, values: List[Tensor]) -> Tensor:
    dtypes = {v.dtype for v in values}
    shapes = {tuple(v.shape[1:]) for v in values}
    if len(dtypes) > 1 or len(shapes) > 1:
        raise ValueError(f"{key!r}: field {name!r} has different dtypes or trailing shapes across graphs: "
                         f"{sorted(map(str, dtypes))}, {sorted(shapes)}")
    return torch.cat(values, dim=0)


torch.serialization.add_safe_globals([HeteroBatch])
