r"""``HeteroGraph``: a graph with node types and typed relations, stored as ONE typed sparse structure.

Access follows PyG's ``HeteroData`` name for name, so code (and ``graphkit.nn``'s hetero operators) written for
one takes the other:

* ``h["paper"]`` is a node type's store: ``h["paper"].x``, ``h["paper"].num_nodes``, any per-node field;
* ``h["author", "writes", "paper"]`` (or ``h["writes"]`` when the relation name is unique) is an edge type's
  store: ``.edge_index`` ``[2, E_r]`` in the *local* ids of its two node types, plus any per-edge field;
* ``h.x_dict``, ``h.edge_index_dict``, ``h.<name>_dict`` (``collect(name)``), ``h.metadata()`` =
  ``(node_types, edge_types)``, ``h.num_nodes_dict``; a plain attribute (``h.y = ...``) is graph-level.

Every tensor field of a node type has one row per node of that type, and every field of an edge type one row
per edge; ``edge_index`` entries must lie below their endpoint type's count. Anything else is a ``ValueError``
naming the type and the value, when set and again in :meth:`HeteroGraph.validate`.

**The one typed structure.** Node type ``t`` owns the global ids ``node_offset[t] .. + num_nodes[t]`` (types in
``metadata()`` order) and edge type ``r`` the global edge ids ``edge_ptr[r] .. edge_ptr[r + 1]``. ``h.adj`` is
one :class:`~graphkit.ops.adjacency.Adjacency` over all ``N`` nodes and ``E`` edges in those global ids, built
once and dropped when any ``edge_index`` or count changes (as ``Graph.adj``), so every op and kernel serves a
heterogeneous graph unchanged; ``h.edge_type`` ``[E]`` holds the relation id per edge, ``h.node_type`` ``[N]``
the type id per node, and :meth:`HeteroGraph.relation_csr` the incoming-edge CSR grouped by relation (rows
``row_offset[r] + local target``), which the typed sampler reads.

``to_homogeneous()`` is that structure as a ``Graph`` (with ``node_type``/``edge_type`` fields and every field
that all types share), and :meth:`HeteroGraph.from_homogeneous` gives the original back exactly.
``torch.save`` writes plain dicts of tensors, so ``torch.load(path, weights_only=True)`` rebuilds a
``HeteroGraph`` (the class is allow-listed below) and re-checks it.

>>> h = HeteroGraph()
>>> h["author"].num_nodes = 2
>>> h["paper"].x = torch.randn(3, 4)
>>> h["author", "writes", "paper"].edge_index = torch.tensor([[0, 1, 1], [0, 1, 2]])
>>> h
HeteroGraph(author={num_nodes=2}, paper={x=[3, 4]}, (author, writes, paper)={edge_index=[2, 3]})
>>> h.metadata()
(['author', 'paper'], [('author', 'writes', 'paper')])
>>> h.adj.edge_index.tolist(), h.edge_type.tolist()
([[0, 1, 1], [2, 3, 4]], [0, 0, 0])
>>> torch.equal(HeteroGraph.from_homogeneous(h.to_homogeneous(), *h.metadata())["writes"].edge_index,
...             h["writes"].edge_index)
True
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, FieldAttributes, Graph, Transfers, as_edge_index
from graphkit.ops.adjacency import CSR, Adjacency, build_csr
from graphkit.ops._checks import check_range

__all__ = ["HeteroGraph", "NodeStore", "EdgeStore", "NodeType", "EdgeType", "Metadata", "check_metadata"]

NodeType = str
EdgeType = Tuple[str, str, str]
Metadata = Tuple[List[NodeType], List[EdgeType]]
# Fields that to_homogeneous() writes itself; a type may not carry them.
_HOMOGENEOUS_NAMES = ("node_type", "edge_type")
_OPTIONAL = frozenset({"x", "y", "pos", "edge_index", "edge_attr", "edge_weight"})


def _rows(value: Any) -> Optional[int]:
    return int(value.size(0)) if isinstance(value, Tensor) and value.dim() > 0 else None


def _fmt_type(t: Union[NodeType, EdgeType]) -> str:
    return f"node type {t!r}" if isinstance(t, str) else f"edge type {t!r}"


class _Store(FieldAttributes):
    """Fields of one type; ``object.__setattr__`` keeps the bookkeeping out of the field namespace."""

    FIELDS = "_fields"
    OPTIONAL = _OPTIONAL

    def __init__(self, owner: "HeteroGraph", key: Union[NodeType, EdgeType]) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_fields", {})

    def _owner_name(self) -> str:
        return _fmt_type(self.__dict__["_key"])

    def __getitem__(self, name: str) -> Any:
        if name not in self._fields:
            raise KeyError(f"{_fmt_type(self._key)} has no field {name!r}")
        return self._fields[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[Tuple[str, Any]]:
        return iter(self._fields.items())

    def keys(self) -> List[str]:
        return list(self._fields)

    def items(self) -> List[Tuple[str, Any]]:
        return list(self._fields.items())

    def remove(self, name: str) -> None:
        self._fields.pop(name, None)
        self._owner._structure_changed()

    def _check_name(self, name: str) -> None:
        if name.startswith("_") or name in _HOMOGENEOUS_NAMES or name in ("num_nodes", "num_edges"):
            raise ValueError(f"{_fmt_type(self._key)}: {name!r} is reserved and cannot be a field name")

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k}={list(v.shape) if isinstance(v, Tensor) else v!r}"
                               for k, v in self._fields.items()) + "}"


class NodeStore(_Store):
    """``h[node_type]``: the count and per-node fields of one node type (every tensor has ``num_nodes`` rows)."""

    def __init__(self, owner: "HeteroGraph", key: NodeType) -> None:
        super().__init__(owner, key)
        object.__setattr__(self, "_num_nodes", None)

    @property
    def num_nodes(self) -> Optional[int]:
        """The count: given explicitly, or the rows of the first tensor field; ``None`` while unknown."""
        if self._num_nodes is not None:
            return self._num_nodes
        return next((r for r in map(_rows, self._fields.values()) if r is not None), None)

    @num_nodes.setter
    def num_nodes(self, value: Any) -> None:
        if isinstance(value, Tensor) and value.numel() == 1:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"node type {self._key!r}: num_nodes must be a non-negative int, got {value!r}")
        for name, field in self._fields.items():
            if _rows(field) is not None and _rows(field) != value:
                raise ValueError(f"node type {self._key!r}: field {name!r} has {_rows(field)} rows but num_nodes "
                                 f"is {value}")
        object.__setattr__(self, "_num_nodes", value)
        self._owner._check_edges_of(self._key)
        self._owner._structure_changed()

    def set(self, name: str, value: Any) -> "NodeStore":
        """Set a per-node field: a tensor with ``num_nodes`` rows (the first one fixes the count)."""
        self._check_name(name)
        if not isinstance(value, Tensor) or value.dim() == 0:
            raise ValueError(f"node type {self._key!r}: field {name!r} must be a tensor with one row per node, got "
                             f"{type(value).__name__}{list(value.shape) if isinstance(value, Tensor) else ''}")
        n = self._num_nodes
        if n is None:
            n = next((_rows(v) for k, v in self._fields.items() if k != name), None)
        if n is not None and value.size(0) != n:
            raise ValueError(f"node type {self._key!r}: field {name!r} has {value.size(0)} rows but num_nodes is {n}")
        fixes_count = self.num_nodes is None
        self._fields[name] = value
        if fixes_count:
            self._owner._check_edges_of(self._key)
            self._owner._structure_changed()
        return self


class EdgeStore(_Store):
    """``h[src, rel, dst]``: ``edge_index`` ``[2, E]`` (local source and target ids) and per-edge fields."""

    @property
    def num_edges(self) -> int:
        ei = self._fields.get("edge_index")
        if ei is not None:
            return int(ei.size(1))
        return next((r for r in map(_rows, self._fields.values()) if r is not None), 0)

    def set(self, name: str, value: Any) -> "EdgeStore":
        """Set ``edge_index`` (checked against both endpoint types) or a per-edge field (one row per edge)."""
        self._check_name(name)
        src, rel, dst = self._key
        if name == "edge_index":
            value = self._owner._check_edge_index(self._key, value)
            for other, field in self._fields.items():
                if other != "edge_index" and _rows(field) != value.size(1):
                    raise ValueError(f"edge type {self._key!r}: edge_index has {value.size(1)} edges but field "
                                     f"{other!r} has {_rows(field)} rows")
            self._fields[name] = value
            self._owner._structure_changed()
            return self
        if not isinstance(value, Tensor) or value.dim() == 0:
            raise ValueError(f"edge type {self._key!r}: field {name!r} must be a tensor with one row per edge, got "
                             f"{type(value).__name__}")
        has = [(k, _rows(v)) for k, v in self._fields.items() if k != name]
        expected = self.num_edges if "edge_index" in self._fields else (has[0][1] if has else None)
        if expected is not None and value.size(0) != expected:
            raise ValueError(f"edge type {self._key!r}: field {name!r} has {value.size(0)} rows but num_edges is "
                             f"{expected}")
        self._fields[name] = value
        return self


class HeteroGraph(Transfers):
    """A heterogeneous graph (see the module docstring for the layout and the rules).

    Args:
        nodes: ``{node_type: {field: tensor, ...} or a count}``; a ``"num_nodes"`` entry fixes the count.
        edges: ``{(src, rel, dst): {"edge_index": [2, E], field: tensor, ...} or an edge_index tensor}``.
        **fields: graph-level values (``y``, ...).
    """

    def __init__(self, nodes: Optional[Mapping[NodeType, Any]] = None,
                 edges: Optional[Mapping[EdgeType, Any]] = None, **fields: Any) -> None:
        object.__setattr__(self, "_nodes", {})
        object.__setattr__(self, "_edges", {})
        object.__setattr__(self, "_globals", {})
        object.__setattr__(self, "_typed", None)
        object.__setattr__(self, "_typed_key", None)
        for nt, spec in (nodes or {}).items():
            store = self.node_store(nt)
            if isinstance(spec, int):
                store.num_nodes = spec
                continue
            spec = dict(spec)
            if "num_nodes" in spec:
                store.num_nodes = spec.pop("num_nodes")
            for name, value in spec.items():
                store.set(name, value)
        for et, spec in (edges or {}).items():
            store = self.edge_store(et)
            spec = {"edge_index": spec} if isinstance(spec, Tensor) else dict(spec)
            if "edge_index" in spec:
                store.set("edge_index", spec.pop("edge_index"))
            for name, value in spec.items():
                store.set(name, value)
        for name, value in fields.items():
            setattr(self, name, value)

    @classmethod
    def trusted(cls, nodes: Mapping[NodeType, Tuple[int, Mapping[str, Tensor]]],
                edges: Mapping[EdgeType, Mapping[str, Tensor]],
                graph_fields: Optional[Mapping[str, Any]] = None) -> "HeteroGraph":
        """A graph from parts the caller guarantees (a sampler): no count, row, bounds or name checks.

        ``nodes``: ``{node_type: (num_nodes, {field: tensor with num_nodes rows})}``; ``edges``:
        ``{(src, rel, dst): {"edge_index": int64 [2, E] within the two types' counts, field: tensor with E
        rows}}`` over node types in ``nodes``; ``graph_fields``: graph-level values. Use ``HeteroGraph(...)`` for
        anything that comes from a user (a typed batch of ~12 stores cost as much to check as to sample).
        """
        h = cls()
        for nt, (num_nodes, fields) in nodes.items():
            store = h._nodes[nt] = NodeStore(h, nt)
            object.__setattr__(store, "_num_nodes", num_nodes)
            store._fields.update(fields)
        for et, fields in edges.items():
            store = h._edges[et] = EdgeStore(h, et)
            store._fields.update(fields)
        h._globals.update(graph_fields or {})
        return h

    # ------------------------------------------------------------------ stores
    def node_store(self, node_type: NodeType) -> NodeStore:
        """The store of ``node_type``, created empty on first use (as ``h[node_type]``)."""
        if not isinstance(node_type, str):
            raise TypeError(f"a node type is a str, got {type(node_type).__name__} {node_type!r}")
        if node_type in self._globals:
            raise ValueError(f"node type {node_type!r} clashes with the graph-level field of that name")
        store = self._nodes.get(node_type)
        if store is None:
            store = self._nodes[node_type] = NodeStore(self, node_type)
            self._structure_changed()
        return store

    def edge_store(self, edge_type: EdgeType) -> EdgeStore:
        """The store of ``(src, rel, dst)``, created empty on first use; both endpoint types must exist."""
        if (not isinstance(edge_type, tuple) or len(edge_type) != 3
                or not all(isinstance(t, str) for t in edge_type)):
            raise TypeError(f"an edge type is a (src, relation, dst) tuple of str, got {edge_type!r}")
        store = self._edges.get(edge_type)
        if store is None:
            for end in (edge_type[0], edge_type[2]):
                if end not in self._nodes:
                    raise ValueError(f"edge type {edge_type!r} names node type {end!r}, which the graph does not "
                                     f"have (node types: {list(self._nodes)}); add it first, e.g. "
                                     f"h[{end!r}].num_nodes = ...")
            store = self._edges[edge_type] = EdgeStore(self, edge_type)
            self._structure_changed()
        return store

    def _resolve_edge_type(self, key: Any) -> EdgeType:
        if isinstance(key, tuple) and len(key) == 2:  # (src, dst): the one relation between them
            found = [et for et in self._edges if (et[0], et[2]) == key]
        elif isinstance(key, str):
            found = [et for et in self._edges if et[1] == key]
        else:
            return key
        if len(found) != 1:
            raise KeyError(f"{key!r} names {len(found)} edge types ({found}); use the full (src, rel, dst)")
        return found[0]

    def __getitem__(self, key: Any) -> Union[NodeStore, EdgeStore]:
        """``h["paper"]``, ``h["author", "writes", "paper"]``, ``h["writes"]`` (a unique relation name) or
        ``h["author", "paper"]`` (the unique relation between the two)."""
        if isinstance(key, str) and key not in self._nodes and any(et[1] == key for et in self._edges):
            return self._edges[self._resolve_edge_type(key)]
        if isinstance(key, str):
            return self.node_store(key)
        if isinstance(key, tuple) and len(key) == 2:
            return self._edges[self._resolve_edge_type(key)]
        return self.edge_store(key)

    def __contains__(self, key: Any) -> bool:
        return key in self._nodes or key in self._edges

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        glob = self.__dict__["_globals"]
        if name in glob:
            return glob[name]
        if name.endswith("_dict"):
            return self.collect(name[: -len("_dict")])
        if name in _OPTIONAL:
            return None
        raise AttributeError(f"HeteroGraph has no graph-level field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
            return
        if name in self._nodes:
            raise ValueError(f"graph-level field {name!r} clashes with the node type of that name")
        if value is None:
            self._globals.pop(name, None)
        else:
            self._globals[name] = value

    def __delattr__(self, name: str) -> None:
        self._globals.pop(name, None)

    def globals(self) -> Dict[str, Any]:
        """The graph-level fields (a copy)."""
        return dict(self._globals)

    # ------------------------------------------------------------------ views
    @property
    def node_types(self) -> List[NodeType]:
        return list(self._nodes)

    @property
    def edge_types(self) -> List[EdgeType]:
        return list(self._edges)

    def metadata(self) -> Metadata:
        """``(node_types, edge_types)``, as PyG's ``HeteroData.metadata()``."""
        return self.node_types, self.edge_types

    def node_items(self) -> List[Tuple[NodeType, NodeStore]]:
        return list(self._nodes.items())

    def edge_items(self) -> List[Tuple[EdgeType, EdgeStore]]:
        return list(self._edges.items())

    def collect(self, name: str) -> Dict[Any, Any]:
        """``{type: store.name}`` over the node and edge types that have field ``name`` (PyG's ``collect``)."""
        out: Dict[Any, Any] = {}
        for key, store in [*self._nodes.items(), *self._edges.items()]:
            if name in store:
                out[key] = store[name]
        return out

    def require(self, name: str, node_types: Optional[Sequence[NodeType]] = None, *, by: str = "this layer"
                ) -> Dict[NodeType, Tensor]:
        """``{type: store.name}`` for ``node_types`` (default: all), or a ``ValueError`` naming the first node
        type that lacks the field (e.g. a featureless type given to a layer that needs ``x``)."""
        out = {}
        for nt in self.node_types if node_types is None else node_types:
            if nt not in self._nodes:
                raise ValueError(f"{by} needs node type {nt!r}, which the graph does not have ({self.node_types})")
            value = self._nodes[nt]._fields.get(name)
            if value is None:
                raise ValueError(f"node type {nt!r} has no field {name!r}, which {by} needs (give it one, or learned "
                                 "embeddings for a featureless type)")
            out[nt] = value
        return out

    @property
    def num_nodes_dict(self) -> Dict[NodeType, int]:
        return {nt: self._count(nt) for nt in self._nodes}

    @property
    def num_edges_dict(self) -> Dict[EdgeType, int]:
        return {et: s.num_edges for et, s in self._edges.items()}

    @property
    def num_nodes(self) -> int:
        return sum(self.num_nodes_dict.values())

    @property
    def num_edges(self) -> int:
        return sum(self.num_edges_dict.values())

    def _count(self, nt: NodeType) -> int:
        n = self._nodes[nt].num_nodes
        if n is None:
            raise ValueError(f"node type {nt!r} has no num_nodes and no fields: set h[{nt!r}].num_nodes")
        return n

    # ------------------------------------------------------------------ checks
    def _check_edge_index(self, et: EdgeType, value: Any) -> Tensor:
        value = as_edge_index(value, f"edge type {et!r}: edge_index")
        if value.numel() and value.device.type != "meta":
            lo, hi = value.min(dim=1).values.tolist(), value.max(dim=1).values.tolist()
            for row, nt in ((0, et[0]), (1, et[2])):
                n = self._nodes[nt].num_nodes if nt in self._nodes else None
                try:
                    check_range(f"edge_index[{row}]", lo[row], hi[row], n, f"num_nodes of node type {nt!r}")
                except ValueError as exc:
                    raise ValueError(f"edge type {et!r}: {exc}") from None
        return value

    def _check_edges_of(self, nt: NodeType) -> None:
        """Re-check the edge types touching ``nt`` once its count is known or changes."""
        for et, store in self._edges.items():
            if nt in (et[0], et[2]) and "edge_index" in store:
                self._check_edge_index(et, store["edge_index"])

    def validate(self) -> "HeteroGraph":
        """Check every invariant (counts, field rows, index bounds, endpoint types, finite ``x``);
        raise ``ValueError`` naming the type and value. Returns ``self``."""
        devices = {v.device for _, s in [*self._nodes.items(), *self._edges.items()] for _, v in s
                   if isinstance(v, Tensor)}
        if len(devices) > 1:
            raise ValueError(f"fields live on different devices: {sorted(map(str, devices))}")
        for nt, store in self._nodes.items():
            n = self._count(nt)
            for name, value in store:
                if _rows(value) != n:
                    raise ValueError(f"node type {nt!r}: field {name!r} has {_rows(value)} rows but num_nodes is {n}")
            x = store._fields.get("x")
            if isinstance(x, Tensor) and x.is_floating_point() and x.device.type != "meta":
                bad = ~torch.isfinite(x)
                if bool(bad.any()):
                    where = bad.nonzero()[0].tolist()
                    raise ValueError(f"node type {nt!r}: x has a non-finite value {x[tuple(where)].item()} at {where}")
        for et, store in self._edges.items():
            for end in (et[0], et[2]):
                if end not in self._nodes:
                    raise ValueError(f"edge type {et!r} names node type {end!r}, which the graph does not have")
            if "edge_index" not in store:
                raise ValueError(f"edge type {et!r} has no edge_index")
            self._check_edge_index(et, store["edge_index"])
            for name, value in store:
                if name != "edge_index" and _rows(value) != store.num_edges:
                    raise ValueError(f"edge type {et!r}: field {name!r} has {_rows(value)} rows but num_edges is "
                                     f"{store.num_edges}")
        if self._typed is not None and self._typed.stale():
            self._structure_changed()
        return self

    # ------------------------------------------------------------------ the typed structure
    def _structure_changed(self) -> None:
        object.__setattr__(self, "_typed", None)
        object.__setattr__(self, "_typed_key", None)

    def _structure_key(self) -> Tuple[Any, ...]:
        def version(t: Tensor) -> Any:
            try:
                return t._version
            except RuntimeError:
                return None

        counts = tuple(self._count(nt) for nt in self._nodes)
        edges = tuple((et, id(s["edge_index"]), version(s["edge_index"])) if "edge_index" in s else (et, None, None)
                      for et, s in self._edges.items())
        return counts, edges

    @property
    def node_offset(self) -> Dict[NodeType, int]:
        """First global id of each node type (types in ``metadata()`` order)."""
        out, total = {}, 0
        for nt in self._nodes:
            out[nt] = total
            total += self._count(nt)
        return out

    @property
    def node_ptr(self) -> Tensor:
        """``[T+1]`` global id ranges of the node types."""
        counts = torch.tensor([self._count(nt) for nt in self._nodes], dtype=torch.long)
        return torch.cat([counts.new_zeros(1), counts.cumsum(0)])

    @property
    def edge_ptr(self) -> Tensor:
        """``[R+1]`` global edge id ranges of the edge types."""
        counts = torch.tensor([s.num_edges for s in self._edges.values()], dtype=torch.long)
        return torch.cat([counts.new_zeros(1), counts.cumsum(0)])

    def _device(self) -> torch.device:
        for _, s in [*self._edges.items(), *self._nodes.items()]:
            for _, v in s:
                if isinstance(v, Tensor):
                    return v.device
        return torch.device("cpu")

    def global_edge_index(self) -> Tensor:
        """Every edge ``[2, E]`` in global node ids, edge types back to back in ``metadata()`` order."""
        off = self.node_offset
        parts = []
        for (src, _, dst), store in self._edges.items():
            ei = store._fields.get("edge_index")
            if ei is None:
                raise ValueError(f"edge type {(src, _, dst)!r} has no edge_index")
            shift = torch.tensor([[off[src]], [off[dst]]], device=ei.device)
            parts.append(ei + shift)
        if not parts:
            return torch.empty(2, 0, dtype=torch.long, device=self._device())
        return torch.cat(parts, dim=1)

    @property
    def adj(self) -> Adjacency:
        """The one structure over all node and edge types (global ids), built once; every op accepts it."""
        key = self._structure_key()
        if self._typed is None or self._typed_key != key:  # O(1); validate() runs the checksum
            n = self.num_nodes
            object.__setattr__(self, "_typed", Adjacency(self.global_edge_index(), n, n))
            object.__setattr__(self, "_typed_key", key)
        return self._typed

    def derived(self, key: Any, build: Callable[[], Any]) -> Any:
        """Memoise ``build()`` with the typed structure (see :meth:`Adjacency.derived`)."""
        return self.adj.derived(key, build)

    @property
    def edge_type(self) -> Tensor:
        """Relation id (index into ``edge_types``) of every global edge ``[E]``."""
        ptr = self.edge_ptr
        return self.derived("hetero_edge_type", lambda: torch.repeat_interleave(
            torch.arange(ptr.numel() - 1), ptr[1:] - ptr[:-1]).to(self.adj.device))

    @property
    def node_type(self) -> Tensor:
        """Type id (index into ``node_types``) of every global node ``[N]``."""
        ptr = self.node_ptr
        return self.derived("hetero_node_type", lambda: torch.repeat_interleave(
            torch.arange(ptr.numel() - 1), ptr[1:] - ptr[:-1]).to(self.adj.device))

    def relation_row_offset(self) -> Tensor:
        """``[R+1]``: relation ``r``'s rows of :meth:`relation_csr` are ``offset[r] + local target id``."""
        sizes = torch.tensor([self._count(et[2]) for et in self._edges], dtype=torch.long)
        return torch.cat([sizes.new_zeros(1), sizes.cumsum(0)])

    def relation_csr(self) -> CSR:
        """Incoming edges grouped by relation, then target: ``(rowptr, col = global source, perm = global edge
        id)`` with one row per (relation, node of its target type); memoised with the structure."""
        def build() -> CSR:
            off, rows = self.relation_row_offset(), []
            for r, (et, store) in enumerate(self._edges.items()):
                rows.append(store["edge_index"][1] + int(off[r]))
            adj = self.adj
            row = torch.cat(rows).to(adj.device) if rows else adj.src.new_zeros(0)
            return build_csr(row, adj.src, int(off[-1]))

        return self.derived("relation_csr", build)

    # ------------------------------------------------------------------ homogeneous view and back
    def to_homogeneous(self, strict: bool = False) -> Graph:
        """The typed structure as one ``Graph``: global ids, ``node_type``/``edge_type`` fields, and every node
        (edge) field that all node (edge) types carry with the same trailing shape and dtype, stacked in type
        order; graph-level fields are kept. Other fields are left out, as in PyG, unless ``strict=True``, which
        raises ``ValueError`` naming the first one. :meth:`from_homogeneous` inverts it exactly."""
        nodes = _stackable(self._nodes, "node", strict)
        edges = _stackable(self._edges, "edge", strict, skip=("edge_index",))
        kinds: Dict[str, str] = {"node_type": NODE, "edge_type": EDGE}
        fields: Dict[str, Any] = {"node_type": self.node_type, "edge_type": self.edge_type}
        for name in nodes:
            fields[name], kinds[name] = torch.cat([s[name] for s in self._nodes.values()]), NODE
        for name in edges:
            fields[name], kinds[name] = torch.cat([s[name] for s in self._edges.values()]), EDGE
        for name, value in self._globals.items():
            if name in fields:
                raise ValueError(f"graph-level field {name!r} clashes with a stacked field of that name")
            fields[name], kinds[name] = value, GRAPH
        return Graph(edge_index=self.adj.edge_index, num_nodes=self.num_nodes, kinds=kinds, **fields)

    @classmethod
    def from_homogeneous(cls, graph: Graph, node_types: Sequence[NodeType],
                         edge_types: Sequence[EdgeType]) -> "HeteroGraph":
        """Split a ``Graph`` with ``node_type`` ``[N]`` and ``edge_type`` ``[E]`` (ids into the two lists) back
        into types: node and edge fields per type, endpoints renumbered per type; graph fields stay global.
        Nodes and edges keep their order within each type."""
        for name in ("node_type", "edge_type"):
            if name not in graph:
                raise ValueError(f"from_homogeneous needs a {name!r} field on the graph")
        node_type, edge_type = graph["node_type"].long(), graph["edge_type"].long()
        check_metadata((list(node_types), list(edge_types)), name="from_homogeneous")
        for name, t, n in (("node_type", node_type, len(node_types)), ("edge_type", edge_type, len(edge_types))):
            if t.numel():
                check_range(name, int(t.min()), int(t.max()), n, f"the number of {name}s given")
        local = torch.empty_like(node_type)
        out = cls()
        for i, nt in enumerate(node_types):
            mask = node_type == i
            idx = mask.nonzero().view(-1)
            local[idx] = torch.arange(idx.numel(), device=idx.device)
            store = out.node_store(nt)
            store.num_nodes = int(idx.numel())
            for name, kind, value in graph.items():
                if kind == NODE and name != "node_type":
                    store.set(name, value[idx])
        ei = graph.edge_index_or_empty()
        for r, et in enumerate(edge_types):
            idx = (edge_type == r).nonzero().view(-1)
            src, dst = ei[0, idx], ei[1, idx]
            for row, end, ids in ((0, et[0], src), (1, et[2], dst)):
                bad = node_type[ids] != node_types.index(end)
                if bool(bad.any()):
                    e = int(idx[bad.nonzero()[0]])
                    raise ValueError(f"edge {e} has edge_type {r} = {et!r}, but its endpoint {int(ids[bad][0])} has "
                                     f"node_type {node_types[int(node_type[ids[bad][0]])]!r}, not {end!r}")
            store = out.edge_store(et)
            store.set("edge_index", torch.stack([local[src], local[dst]]))
            for name, kind, value in graph.items():
                if kind == EDGE and name != "edge_type":
                    store.set(name, value[idx])
        for name, kind, value in graph.items():
            if kind == GRAPH:
                setattr(out, name, value)
        return out

    # ------------------------------------------------------------------ transfers
    def map_tensors(self, fn: Callable[[Tensor], Tensor]) -> "HeteroGraph":
        """A copy with ``fn`` applied to every tensor (fields, edge indices, graph-level tensors)."""
        out = copy.copy(self)
        object.__setattr__(out, "_nodes", {})
        object.__setattr__(out, "_edges", {})
        object.__setattr__(out, "_globals", {k: fn(v) if isinstance(v, Tensor) else v
                                             for k, v in self._globals.items()})
        for nt, s in self._nodes.items():
            store = out._nodes[nt] = NodeStore(out, nt)
            object.__setattr__(store, "_num_nodes", s._num_nodes)
            store._fields.update({k: fn(v) for k, v in s._fields.items()})
        for et, s in self._edges.items():
            store = out._edges[et] = EdgeStore(out, et)
            store._fields.update({k: fn(v) for k, v in s._fields.items()})
        adj = self._typed
        if adj is not None and not adj.stale() and self._typed_key == self._structure_key():
            adj = adj.transfer(fn(adj.edge_index), fn)  # the CSRs move with the graph
            object.__setattr__(out, "_typed", adj)
            object.__setattr__(out, "_typed_key", out._structure_key())
        else:
            out._structure_changed()
        return out

    # ------------------------------------------------------------------ persistence
    def __getstate__(self) -> Dict[str, Any]:
        # Plain dicts, tuples, tensors and ints only, so torch.load(weights_only=True) can rebuild it.
        return {"nodes": {nt: {"num_nodes": s._num_nodes, "fields": dict(s._fields)} for nt, s in self._nodes.items()},
                "edges": {et: dict(s._fields) for et, s in self._edges.items()},
                "globals": dict(self._globals), **self._extra_state()}

    def _extra_state(self) -> Dict[str, Any]:
        """Hook for subclasses (``HeteroBatch``) that save bookkeeping of their own."""
        return {}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # A file is input like any other: rebuild through the checked setters.
        HeteroGraph.__init__(self)
        for nt, spec in state["nodes"].items():
            store = self.node_store(nt)
            if spec["num_nodes"] is not None:
                store.num_nodes = spec["num_nodes"]
            for name, value in spec["fields"].items():
                store.set(name, value)
        for et, fields in state["edges"].items():
            store = self.edge_store(tuple(et))
            if "edge_index" in fields:
                store.set("edge_index", fields["edge_index"])
            for name, value in fields.items():
                if name != "edge_index":
                    store.set(name, value)
        for name, value in state["globals"].items():
            setattr(self, name, value)
        self._load_extra_state(state)

    def _load_extra_state(self, state: Dict[str, Any]) -> None:
        """Hook for subclasses: read what :meth:`_extra_state` wrote."""

    def __copy__(self) -> "HeteroGraph":
        out = type(self).__new__(type(self))
        for key, value in self.__dict__.items():
            object.__setattr__(out, key, value)
        return out

    def __repr__(self) -> str:
        parts = [f"{k}={list(v.shape) if isinstance(v, Tensor) else v!r}" for k, v in self._globals.items()]
        for nt, s in self._nodes.items():
            inner = repr(s) if s.keys() else f"{{num_nodes={s.num_nodes}}}"
            parts.append(f"{nt}={inner}")
        for et, s in self._edges.items():
            parts.append(f"({', '.join(et)})={s!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _stackable(stores: Mapping[Any, _Store], what: str, strict: bool, skip: Sequence[str] = ()) -> List[str]:
    """Fields every store has, with one trailing shape and dtype (so they concatenate)."""
    if not stores:
        return []
    names: List[str] = []
    all_names = {n for s in stores.values() for n in s.keys() if n not in skip}
    first = next(iter(stores.values()))
    for name in [n for n in first.keys() if n not in skip] + sorted(all_names - set(first.keys())):
        values = [s._fields.get(name) for s in stores.values()]
        ok = all(isinstance(v, Tensor) for v in values) and len({(v.dtype, tuple(v.shape[1:])) for v in values}) == 1
        if ok:
            names.append(name)
        elif strict:
            raise ValueError(f"{what} field {name!r} cannot be stacked across types: it is missing on some or its "
                             "shape or dtype differs; to_homogeneous(strict=False) leaves it out")
    return names


def check_metadata(metadata: Any, graph: Optional[HeteroGraph] = None, name: str = "metadata") -> Metadata:
    """``metadata`` as ``(node_types, edge_types)``, well formed and (given ``graph``) equal to the graph's;
    a mismatch is a ``ValueError`` naming the type. Layers built for a metadata call it on their input."""
    if not (isinstance(metadata, (tuple, list)) and len(metadata) == 2):
        raise ValueError(f"{name} must be (node_types, edge_types), got {metadata!r}")
    node_types, edge_types = list(metadata[0]), [tuple(et) for et in metadata[1]]
    for nt in node_types:
        if not isinstance(nt, str):
            raise ValueError(f"{name}: node type {nt!r} is not a str")
    for et in edge_types:
        if len(et) != 3 or not all(isinstance(t, str) for t in et):
            raise ValueError(f"{name}: edge type {et!r} is not a (src, relation, dst) tuple of str")
        for end in (et[0], et[2]):
            if end not in node_types:
                raise ValueError(f"{name}: edge type {et!r} has node type {end!r}, which is not in its node types "
                                 f"{node_types}")
    if graph is not None:
        g_nodes, g_edges = graph.metadata()
        for nt in set(node_types) ^ set(g_nodes):
            side = "the graph lacks" if nt in node_types else "the metadata lacks"
            raise ValueError(f"{name} does not match the graph: {side} node type {nt!r}")
        for et in set(edge_types) ^ set(g_edges):
            side = "the graph lacks" if et in edge_types else "the metadata lacks"
            raise ValueError(f"{name} does not match the graph: {side} edge type {et!r}")
    return node_types, edge_types  # type: ignore[return-value]


# A saved HeteroGraph holds only dicts, tuples, tensors and ints; allow-listing the class lets
# ``torch.load(path, weights_only=True)`` rebuild it (its __setstate__ re-checks everything).
torch.serialization.add_safe_globals([HeteroGraph])
