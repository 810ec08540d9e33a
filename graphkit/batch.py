"""``Batch``: many graphs as one disconnected ``Graph``.

Batching rules, one per kind (see :mod:`graphkit.graph`):

* ``node`` and ``edge`` fields are concatenated along dim 0;
* ``edge_index`` and ``node_index`` fields are concatenated along their last dim, each graph's node ids offset
  by the number of nodes before it, so no edge ever joins two graphs;
* ``graph`` tensors are concatenated along dim 0 (0-dim tensors are stacked into ``[B]``); plain Python values
  become a list.

``batch`` maps each node to its graph, ``ptr`` holds the node offsets, and ``to_graphs()`` (``batch[i]``,
``to_data_list()``) gives back the originals exactly: the same fields, kinds, dtypes and values, graphs with no
nodes or no edges included. Code that assembles a batch without ``Graph`` objects per member (``SubgraphBag``,
the processed-data cache) uses :meth:`Batch.from_parts`.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union, overload

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, NODE_INDEX, Graph

__all__ = ["Batch"]

_RESERVED = ("batch", "ptr")


def _offsets(counts: Tensor) -> Tensor:
    ptr = counts.new_zeros(counts.numel() + 1)
    torch.cumsum(counts, 0, out=ptr[1:])
    return ptr


class Batch(Graph):
    """A disjoint union of graphs that keeps enough bookkeeping to split itself again.

    >>> a = Graph(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]]))
    >>> b = Graph(x=torch.ones(3, 1), edge_index=torch.tensor([[2], [0]]))
    >>> batch = Batch.from_graphs([a, b])
    >>> batch.edge_index.tolist(), batch.batch.tolist(), batch.ptr.tolist()
    ([[0, 4], [1, 2]], [0, 0, 1, 1, 1], [0, 2, 5])
    """

    @classmethod
    def from_graphs(cls, graphs: Sequence[Graph]) -> "Batch":
        """Batch ``graphs``; a list of ``HeteroGraph`` becomes a :class:`graphkit.hetero_batch.HeteroBatch`."""
        graphs = list(graphs)
        if not graphs:
            raise ValueError("Batch.from_graphs needs at least one graph")
        from graphkit.hetero import HeteroGraph  # here: hetero.py imports graph.py, as this module does

        if isinstance(graphs[0], HeteroGraph):
            from graphkit.hetero_batch import HeteroBatch

            return HeteroBatch.from_graphs(graphs)  # type: ignore[return-value]
        first = graphs[0]
        for i, g in enumerate(graphs):
            if not isinstance(g, Graph):
                raise TypeError(f"graphs[{i}] is a {type(g).__name__}, not a graphkit.Graph")
            if g._kinds != first._kinds:
                differ = sorted(k for k in set(g._kinds) | set(first._kinds)
                                if g._kinds.get(k) != first._kinds.get(k))
                hint = ", ".join(f"{k!r}: '{first._kinds.get(k) or g._kinds.get(k)}'" for k in differ)
                raise ValueError(
                    f"graphs[{i}] has fields {g._kinds} but graphs[0] has {first._kinds}: "
                    "every graph in a batch needs the same fields with the same kinds; "
                    f"if a kind was read off a size, name it when building the graphs: kinds={{{hint}}}"
                )
        for name in _RESERVED:
            if name in first._kinds:
                raise ValueError(f"field name {name!r} is reserved by Batch")

        node_counts = torch.tensor([g.num_nodes for g in graphs], dtype=torch.long)
        edge_counts = torch.tensor([g.num_edges for g in graphs], dtype=torch.long)
        ptr, edge_ptr = _offsets(node_counts), _offsets(edge_counts)
        out = cls.__new__(cls)
        Graph.__init__(out, num_nodes=int(ptr[-1]))
        slices: Dict[str, List[int]] = {}
        stacked: List[str] = []

        has_edges = [g.edge_index is not None for g in graphs]
        if any(has_edges):
            parts = [g.edge_index_or_empty() for g in graphs]
            device = next(p.device for p, h in zip(parts, has_edges) if h)
            edges = torch.cat([p.to(device) for p in parts], dim=1)
            shift = torch.repeat_interleave(ptr[:-1], edge_counts).to(device)
            out._set_edge_index(edges + shift)

        for name, kind in first._kinds.items():
            values = [g._store[name] for g in graphs]
            if kind != GRAPH or all(isinstance(v, Tensor) for v in values):
                cls._check_same_dtype(name, values)
            if kind in (NODE, EDGE, NODE_INDEX):
                cls._check_same_shape(name, values, kind)
            if kind in (NODE, EDGE):
                value: Any = torch.cat(values, dim=0)
            elif kind == NODE_INDEX:
                counts = torch.tensor([v.size(-1) for v in values], dtype=torch.long)
                shift = torch.repeat_interleave(ptr[:-1], counts).to(values[0].device)
                value = torch.cat(values, dim=-1) + shift
                slices[name] = _offsets(counts).tolist()
            elif all(isinstance(v, Tensor) for v in values):
                if all(v.dim() == 0 for v in values):
                    value = torch.stack(values)
                    stacked.append(name)
                else:
                    if any(v.dim() == 0 for v in values):
                        raise ValueError(f"graph field {name!r} mixes 0-dim and n-dim tensors across graphs")
                    value = torch.cat(values, dim=0)
                    slices[name] = _offsets(torch.tensor([v.size(0) for v in values])).tolist()
            else:
                value = list(values)
            out._store[name] = value
            out._kinds[name] = kind

        object.__setattr__(out, "_meta_ptr", ptr.to(out._device()))
        object.__setattr__(out, "_meta_edge_ptr", edge_ptr)
        object.__setattr__(out, "_meta_batch", None)
        object.__setattr__(out, "_slices", slices)
        object.__setattr__(out, "_stacked", stacked)
        object.__setattr__(out, "_has_edges", has_edges)
        return out

    @classmethod
    def from_data_list(cls, graphs: Sequence[Graph]) -> "Batch":
        """PyG's name for :meth:`from_graphs`."""
        return cls.from_graphs(graphs)

    @classmethod
    def from_parts(cls, graph: Graph, ptr: Tensor, edge_ptr: Tensor, *, batch: Optional[Tensor] = None,
                   slices: Optional[Mapping[str, Sequence[int]]] = None,
                   meta: Optional[Mapping[str, Tensor]] = None) -> "Batch":
        """A batch from one graph that already holds the members back to back (edges grouped by member).

        Args:
            graph: the union (its fields and structure are taken over, not copied).
            ptr: node offsets ``[B+1]``; edge_ptr: edge offsets ``[B+1]``; batch: node -> member, if known.
            slices: offsets of each member's part of a ``graph``-kind tensor (or the last dim of a
                ``node_index`` field) whose parts differ in length; other graph tensors hold one row per member.
            meta: bookkeeping tensors of a subclass (read with :meth:`meta`); they follow ``to()``/``clone()``.
        """
        out = cls.__new__(cls)
        for key, value in graph.__dict__.items():
            object.__setattr__(out, key, value)
        object.__setattr__(out, "_store", dict(graph._store))
        object.__setattr__(out, "_kinds", dict(graph._kinds))
        slices = {k: list(v) for k, v in (slices or {}).items()}
        stacked = [k for k, kind in graph._kinds.items() if kind == GRAPH and k not in slices]
        num = int(ptr.numel()) - 1
        object.__setattr__(out, "_meta_ptr", ptr.to(out._device()))
        object.__setattr__(out, "_meta_edge_ptr", edge_ptr.cpu())
        object.__setattr__(out, "_meta_batch", batch)
        object.__setattr__(out, "_slices", slices)
        object.__setattr__(out, "_stacked", stacked)
        object.__setattr__(out, "_has_edges", [graph.edge_index is not None] * num)
        object.__setattr__(out, "_meta_extra", dict(meta or {}))
        return out

    def meta(self, name: str) -> Tensor:
        """A bookkeeping tensor given to :meth:`from_parts` as ``meta[name]``."""
        return self.__dict__.get("_meta_extra", {})[name]

    def _map_extra(self, out: Graph, fn: Callable[[Tensor], Tensor]) -> None:
        for name in ("_meta_ptr", "_meta_edge_ptr", "_meta_batch"):
            value = self.__dict__.get(name)
            if isinstance(value, Tensor):
                object.__setattr__(out, name, fn(value))
        extra = self.__dict__.get("_meta_extra", {})
        object.__setattr__(out, "_meta_extra", {k: fn(v) for k, v in extra.items()})

    @staticmethod
    def _check_same_shape(name: str, values: List[Tensor], kind: str) -> None:
        # Every dim but the one that is concatenated must agree; say which field and graph differ.
        def rest(v: Tensor) -> List[int]:
            return list(v.shape[:-1]) if kind == NODE_INDEX else list(v.shape[1:])

        ref = rest(values[0])
        for i, v in enumerate(values):
            if rest(v) != ref:
                what = "leading" if kind == NODE_INDEX else "trailing"
                raise ValueError(f"field {name!r} has {what} shape {rest(v)} in graphs[{i}] but {ref} in graphs[0]")

    @staticmethod
    def _check_same_dtype(name: str, values: List[Any]) -> None:
        dtypes = {v.dtype for v in values if isinstance(v, Tensor)}
        if len(dtypes) > 1:
            raise ValueError(f"field {name!r} has different dtypes across graphs: {sorted(map(str, dtypes))}")

    def _device(self) -> torch.device:
        if self._edge_index is not None:
            return self._edge_index.device
        return next((v.device for v in self._store.values() if isinstance(v, Tensor)), torch.device("cpu"))

    # -------------------------------------------------------------- bookkeeping
    @property
    def ptr(self) -> Tensor:
        """Node offsets ``[B+1]``: graph ``i`` owns nodes ``ptr[i]:ptr[i+1]``."""
        return self._meta_ptr

    @property
    def batch(self) -> Tensor:
        """Graph id of every node ``[N]``, built once on first use."""
        if self._meta_batch is None:
            counts = self._meta_ptr[1:] - self._meta_ptr[:-1]
            ids = torch.arange(counts.numel(), device=counts.device)
            object.__setattr__(self, "_meta_batch", torch.repeat_interleave(ids, counts))
        return self._meta_batch

    @property
    def edge_ptr(self) -> Tensor:
        """Edge offsets ``[B+1]``: graph ``i`` owns edges ``edge_ptr[i]:edge_ptr[i+1]``."""
        return self._meta_edge_ptr

    @property
    def num_graphs(self) -> int:
        return self._meta_ptr.numel() - 1

    def to_graphs(self) -> List[Graph]:
        """Split back into the graphs this batch was made from."""
        ptr = self._meta_ptr.tolist()
        eptr = self._meta_edge_ptr.tolist()
        graphs = []
        for i in range(self.num_graphs):
            graphs.append(self.get_graph(i, ptr, eptr))
        return graphs

    def to_data_list(self) -> List[Graph]:
        """PyG's name for :meth:`to_graphs`."""
        return self.to_graphs()

    def get_graph(self, i: int, ptr: Optional[List[int]] = None, eptr: Optional[List[int]] = None) -> Graph:
        """Graph ``i`` of the batch."""
        ptr = self._meta_ptr.tolist() if ptr is None else ptr
        eptr = self._meta_edge_ptr.tolist() if eptr is None else eptr
        if not -self.num_graphs <= i < self.num_graphs:
            raise IndexError(f"graph index {i} is out of range for a batch of {self.num_graphs}")
        i %= self.num_graphs
        n0, n1, e0, e1 = ptr[i], ptr[i + 1], eptr[i], eptr[i + 1]
        ei = self._edge_index[:, e0:e1] - n0 if self._has_edges[i] else None

        def graph_part(name: str, value: Any) -> Any:
            if name in self._slices:
                s = self._slices[name]
                return value[s[i] : s[i + 1]]
            return value[i]  # stacked 0-dim values, one row per graph, or a list of Python values

        def index_part(name: str, value: Tensor) -> Tensor:
            s = self._slices[name]
            return value[..., s[i] : s[i + 1]] - n0

        g = self.select(slice(n0, n1), slice(e0, e1), num_nodes=n1 - n0, edge_index=None, graph=graph_part,
                        node_index=index_part)
        if ei is not None:
            g.edge_index = ei  # checked: a batch loaded from a file may carry inconsistent offsets
        return g

    @overload
    def __getitem__(self, key: int) -> Graph: ...

    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: Union[int, str]) -> Any:
        """``batch[i]``: graph ``i`` (as PyG's ``Batch``); ``batch["x"]``: a field."""
        if isinstance(key, str):
            return super().__getitem__(key)
        if isinstance(key, bool) or not isinstance(key, int):
            raise TypeError(f"a Batch is indexed by graph number or field name, got {type(key).__name__}")
        return self.get_graph(key)

    def __len__(self) -> int:
        return self.num_graphs

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", num_graphs={self.num_graphs})"


torch.serialization.add_safe_globals([Batch])  # as Graph (graph.py): loadable with weights_only=True
