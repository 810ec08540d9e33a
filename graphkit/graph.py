"""``Graph``: the one sparse graph value that every modality becomes and every operator takes.

Conventions, written down once:

* ``edge_index`` is a ``[2, E]`` int64 tensor of ``(source, target)`` pairs; messages flow source -> target.
* Every other field has a *kind*, recorded when it is set and never re-guessed:

  ============== ==================================================================================
  ``node``       one row per node: ``value.size(0) == num_nodes`` (``x``, ``pos`` always are)
  ``edge``       one row per edge: ``value.size(0) == num_edges`` (``edge_attr``, ``edge_weight``)
  ``graph``      one value for the whole graph (a tensor of any shape, or a plain Python value)
  ``node_index`` integer node ids with items along the *last* dimension (e.g. faces ``[3, F]``);
                 batching offsets them like ``edge_index``
  ============== ==================================================================================

  Any other field names its kind with ``kinds={"name": kind}`` or ``set(name, value, kind)``. Without it the
  kind is read once from the leading size (``num_nodes`` -> node, ``num_edges`` -> edge, otherwise graph), and a
  size that matches both raises ``ValueError`` rather than guessing.
  A field called ``y`` whose leading size is 1 is always a graph label (PyG's ``y=torch.tensor([c])``), whatever
  the graph's size; say ``kinds={"y": "node"}`` for a node label of a one-node graph.
* ``adj`` is the graph's structure (:class:`graphkit.ops.adjacency.Adjacency`), built once and shared by every
  op and layer: ``csr()`` (incoming edges grouped by target: ``rowptr``, ``col`` = sources, ``perm`` = edge ids),
  ``csr_t()`` (outgoing edges grouped by source) and everything memoised with ``derived(key, build)``. All of it
  is dropped when ``edge_index`` is replaced or modified in place through torch (the tensor's version counter),
  or when ``num_nodes`` changes. ``validate()``, ``to()`` and ``clone()`` also catch edits that bypass the counter
  (``.data``, ``.numpy()``, shared storage) with a checksum; call ``validate()`` after such an edit.
* ``Batch`` (``graphkit.batch``) is a ``Graph``; ``graph.py`` and ``batch.py`` are the only modules that touch
  their private state. Others build through ``Graph(...)``, :meth:`Graph.trusted`, :meth:`Graph.select` and
  ``Batch.from_parts``, and read through ``items()`` and ``edge_index_or_empty()``.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Collection, Dict, Iterator, List, Optional, Tuple, TypeVar, Union

import torch
from torch import Tensor

from graphkit.ops.adjacency import CSR, Adjacency, check_bounds

T = TypeVar("T")

__all__ = ["Graph", "Transfers", "FieldAttributes", "NODE", "EDGE", "GRAPH", "NODE_INDEX", "KINDS", "DROP", "Index", "field_kinds", "as_edge_index"]

NODE, EDGE, GRAPH, NODE_INDEX = "node", "edge", "graph", "node_index"
KINDS = (NODE, EDGE, GRAPH, NODE_INDEX)
_FIXED_KINDS = {"x": NODE, "pos": NODE, "edge_attr": EDGE, "edge_weight": EDGE}
# Names that read as ``None`` when unset, as users of PyG's ``Data`` expect.
_OPTIONAL_NAMES = frozenset({"x", "edge_index", "edge_attr", "edge_weight", "y", "pos"})
_NAN_CHECKED = ("x", "pos", "edge_attr", "edge_weight")
#: Rows to keep: a slice or an index tensor (anything ``tensor[rows]`` accepts along dim 0).
Index = Union[slice, Tensor]
#: Returned by a ``graph=``/``node_index=`` callback of :meth:`Graph.select` to leave a field out.
DROP = object()


def _as_index(value: Any, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor (int64), got dtype {value.dtype}")
    return value if value.dtype == torch.int64 else value.long()


def as_edge_index(value: Any, name: str = "edge_index") -> Tensor:
    """``value`` as a ``[2, E]`` int64 edge list (bounds are the caller's: they depend on its node counts), else a
    ``TypeError``/``ValueError`` naming ``name``. The one dtype-and-shape check of ``Graph`` and ``HeteroGraph``."""
    value = _as_index(value, name)
    if value.dim() != 2 or value.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got {list(value.shape)}")
    return value


class FieldAttributes:
    """Fields as attributes, written once for ``Graph`` and HeteroGraph's node and edge stores: ``g.name`` reads
    the field dict named by ``FIELDS`` (``None`` for an unset name in ``OPTIONAL``, which PyG users expect to read
    as ``None``; else ``AttributeError``), ``g.name = v`` calls ``set`` (``None`` removes), ``del g.name``
    calls ``remove``. Private names and properties are plain attributes."""

    FIELDS = "_fields"
    OPTIONAL: Collection[str] = ()

    def _owner_name(self) -> str:
        return type(self).__name__

    def set(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def remove(self, name: str) -> None:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        fields = self.__dict__[self.FIELDS]
        if name in fields:
            return fields[name]
        if name in self.OPTIONAL:
            return None
        raise AttributeError(f"{self._owner_name()} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
        elif value is None:
            self.remove(name)
        else:
            self.set(name, value)

    def __delattr__(self, name: str) -> None:
        self.remove(name)


class Transfers:
    """``to``/``cpu``/``pin_memory``/``clone`` of a graph value, written once over its ``map_tensors(fn)``
    (``Graph`` and ``graphkit.hetero.HeteroGraph``)."""

    def map_tensors(self: T, fn: Callable[[Tensor], Tensor]) -> T:
        raise NotImplementedError

    def to(self: T, device: Any, non_blocking: bool = False) -> T:
        """A copy on ``device`` (the cached structure moves too, so it is not rebuilt there)."""
        return self.map_tensors(lambda t: t.to(device, non_blocking=non_blocking))

    def cpu(self: T) -> T:
        return self.to("cpu")

    def pin_memory(self: T) -> T:
        return self.map_tensors(lambda t: t.pin_memory())

    def clone(self: T) -> T:
        return self.map_tensors(lambda t: t.clone())



def _take(value: Any, index: Index) -> Any:
    """``value[index]``; rows picked by integer ids go through ``index_select``, which on the CPU is ~10x faster
    than advanced indexing for a 1-D gather (80k labels of a sampled batch: 1 ms against 8-15 ms)."""
    if (isinstance(value, Tensor) and isinstance(index, Tensor) and value.dim() > 0 and index.dim() == 1
            and index.dtype in (torch.int64, torch.int32) and index.device == value.device):
        return value.index_select(0, index)
    return value[index]

class Graph(FieldAttributes, Transfers):
    """A (possibly batched) sparse graph with typed node, edge and graph fields.

    Args:
        x: node features ``[N, F]``.
        edge_index: ``[2, E]`` integer tensor of (source, target) pairs.
        edge_attr: edge features ``[E, D]``.
        y: labels; per node if ``y.size(0) == num_nodes``, else per graph (or say so in ``kinds``).
        pos: node positions ``[N, d]``.
        num_nodes: node count; inferred from node fields, then from ``edge_index``, when omitted.
        kinds: the kind of any extra field (``"node"``, ``"edge"``, ``"graph"`` or ``"node_index"``).
        **fields: extra fields.

    >>> g = Graph(x=torch.randn(3, 4), edge_index=torch.tensor([[0, 1], [1, 2]]))
    >>> g
    Graph(x=[3, 4], edge_index=[2, 2])
    >>> rowptr, col, perm = g.csr()
    >>> rowptr.tolist(), col.tolist()
    ([0, 0, 1, 2], [0, 1])
    >>> g["x"] is g.x, [(name, kind) for name, kind, _ in g.items()]
    (True, [('x', 'node'), ('edge_index', 'edge_index')])
    """

    FIELDS = "_store"
    OPTIONAL = _OPTIONAL_NAMES

    def __init__(
        self,
        x: Optional[Tensor] = None,
        edge_index: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        y: Any = None,
        pos: Optional[Tensor] = None,
        num_nodes: Optional[int] = None,
        *,
        kinds: Optional[Dict[str, str]] = None,
        **fields: Any,
    ) -> None:
        object.__setattr__(self, "_store", {})
        object.__setattr__(self, "_kinds", {})
        object.__setattr__(self, "_edge_index", None)
        object.__setattr__(self, "_edge_key", None)
        object.__setattr__(self, "_edge_max", -1)
        object.__setattr__(self, "_num_nodes", None)
        object.__setattr__(self, "_adj", None)
        kinds = dict(kinds or {})
        unknown = set(kinds) - set(fields) - {"y", "x", "pos", "edge_attr"}
        if unknown:
            raise ValueError(f"kinds names fields that were not given: {sorted(unknown)}")
        if num_nodes is not None:
            if isinstance(num_nodes, Tensor):
                num_nodes = int(num_nodes)
            if not isinstance(num_nodes, int) or isinstance(num_nodes, bool) or num_nodes < 0:
                raise ValueError(f"num_nodes must be a non-negative int, got {num_nodes!r}")
            object.__setattr__(self, "_num_nodes", num_nodes)
        # Node fields first: they fix num_nodes, against which edge_index is then checked.
        for name, value in (("x", x), ("pos", pos)):
            if value is not None:
                self.set(name, value, kinds.get(name))
        if edge_index is not None:
            self._set_edge_index(edge_index)
        if edge_attr is not None:
            self.set("edge_attr", edge_attr, kinds.get("edge_attr"))
        ordered = sorted(fields.items(), key=lambda kv: kinds.get(kv[0]) != NODE)
        for name, value in ordered:
            if name == "edge_weight":
                continue
            self.set(name, value, kinds.get(name))
        if "edge_weight" in fields:
            self.set("edge_weight", fields["edge_weight"], kinds.get("edge_weight"))
        if y is not None:
            self.set("y", y, kinds.get("y"))

    # ------------------------------------------------------------------ fields
    def __contains__(self, name: str) -> bool:
        return name in self._store

    def __iter__(self) -> Iterator[Tuple[str, Any]]:
        return iter(self._store.items())

    def __getitem__(self, name: str) -> Any:
        """``g["x"]``, as on PyG's ``Data``."""
        if not isinstance(name, str):
            raise TypeError(f"a {type(self).__name__} is indexed by field name, got {type(name).__name__}")
        if name == "edge_index":
            return self._edge_index
        if name not in self._store:
            raise KeyError(f"{type(self).__name__} has no field {name!r}")
        return self._store[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def keys(self) -> List[str]:
        return list(self._store)

    def items(self) -> Iterator[Tuple[str, str, Any]]:
        """``(name, kind, value)`` of every field, ``edge_index`` (kind ``"edge_index"``) included when set."""
        for name, value in self._store.items():
            yield name, self._kinds[name], value
        if self._edge_index is not None:
            yield "edge_index", "edge_index", self._edge_index

    def kind(self, name: str) -> str:
        if name == "edge_index":
            return "edge_index"
        if name not in self._kinds:
            raise KeyError(f"{type(self).__name__} has no field {name!r}")
        return self._kinds[name]

    def fields(self, kind: str) -> List[str]:
        return [k for k, v in self._kinds.items() if v == kind]

    def set(self, name: str, value: Any, kind: Optional[str] = None) -> "Graph":
        """Set a field, checking its size against its kind. Returns ``self``."""
        if name == "edge_index":
            self._set_edge_index(value)
            return self
        if name.startswith("_") or name in ("num_nodes", "num_edges"):
            raise ValueError(f"{name!r} is reserved and cannot be a field name")
        fixed = _FIXED_KINDS.get(name)
        if kind is None:
            kind = fixed or self._kinds.get(name) or self._infer_kind(name, value)
        elif fixed is not None and kind != fixed:
            raise ValueError(f"field {name!r} is always {fixed!r}, not {kind!r}")
        if kind not in KINDS:
            raise ValueError(f"kind of {name!r} must be one of {KINDS}, got {kind!r}")
        if kind != GRAPH and not isinstance(value, Tensor):
            raise TypeError(f"{kind} field {name!r} must be a torch.Tensor, got {type(value).__name__}")
        if kind == NODE:
            self._check_rows(name, value, self._known_num_nodes(exclude=name), "num_nodes")
        elif kind == EDGE:
            self._check_rows(name, value, self.num_edges, "num_edges")
        elif kind == NODE_INDEX:
            value = _as_index(value, name)
            if value.dim() == 0:
                raise ValueError(f"node_index field {name!r} must have at least one dimension")
            self._check_bounds(name, value, self._known_num_nodes())
        self._store[name] = value
        self._kinds[name] = kind
        return self

    def remove(self, name: str) -> None:
        if name == "edge_index":
            self._edge_index_reset(None, -1)
            return
        self._store.pop(name, None)
        self._kinds.pop(name, None)

    def _infer_kind(self, name: str, value: Any) -> str:
        if not isinstance(value, Tensor) or value.dim() == 0:
            return GRAPH
        rows = value.size(0)
        if name == "y" and rows == 1:
            return GRAPH  # PyG's graph label y=[c]: never a node or edge label by accident of the graph's size
        n, e = self._known_num_nodes(), self.num_edges
        if n is None and self._edge_index is not None:
            n = self._edge_max + 1
        as_node = n is not None and rows == n
        as_edge = self._edge_index is not None and rows == e
        if as_node and as_edge:
            raise ValueError(
                f"cannot tell whether field {name!r} (leading size {rows}) is per node or per edge: "
                f"num_nodes == num_edges == {rows}; pass kinds={{{name!r}: 'node' or 'edge'}}"
            )
        return NODE if as_node else EDGE if as_edge else GRAPH

    @staticmethod
    def _check_rows(name: str, value: Tensor, expected: Optional[int], what: str) -> None:
        if value.dim() == 0:
            raise ValueError(f"field {name!r} must have a leading dimension of size {what}, got a 0-dim tensor")
        if expected is not None and value.size(0) != expected:
            raise ValueError(f"field {name!r} has {value.size(0)} rows but {what} is {expected}")

    @staticmethod
    def _check_bounds(name: str, index: Tensor, num_nodes: Optional[int]) -> None:
        check_bounds(name, index, num_nodes, "num_nodes", per_row=index.dim() > 1)

    # ------------------------------------------------------------ structure
    def _set_edge_index(self, value: Any) -> None:
        value = as_edge_index(value)
        self._check_bounds("edge_index", value, self._known_num_nodes())
        num_edges = value.size(1)
        for name in self.fields(EDGE):
            if self._store[name].size(0) != num_edges:
                raise ValueError(
                    f"edge_index has {num_edges} edges but field {name!r} has {self._store[name].size(0)} rows"
                )
        self._edge_index_reset(value, int(value.max()) if num_edges else -1)

    def _edge_index_reset(self, value: Optional[Tensor], edge_max: int, adj: Optional[Adjacency] = None) -> None:
        object.__setattr__(self, "_edge_index", value)
        object.__setattr__(self, "_edge_max", edge_max)
        object.__setattr__(self, "_edge_key", _edge_key(value))
        object.__setattr__(self, "_adj", adj)

    @property
    def edge_index(self) -> Optional[Tensor]:
        return self._edge_index

    @edge_index.setter
    def edge_index(self, value: Optional[Tensor]) -> None:
        if value is None:
            self.remove("edge_index")
        else:
            self._set_edge_index(value)

    def _sync(self) -> None:
        ei = self._edge_index
        if ei is not None and self._edge_key != _edge_key(ei):
            # edge_index was modified in place: re-check it and drop what was derived from it.
            self._set_edge_index(ei)

    def _known_num_nodes(self, exclude: Optional[str] = None) -> Optional[int]:
        """``num_nodes`` when something fixes it (explicit count or a node field), else ``None``."""
        if self._num_nodes is not None:
            return self._num_nodes
        for name in self.fields(NODE):
            if name != exclude:
                return int(self._store[name].size(0))
        return None

    @property
    def num_nodes(self) -> int:
        self._sync()
        known = self._known_num_nodes()
        if known is not None:
            return known
        return self._edge_max + 1

    @num_nodes.setter
    def num_nodes(self, value: int) -> None:
        if isinstance(value, Tensor):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"num_nodes must be a non-negative int, got {value!r}")
        if value < self._edge_max + 1:
            raise ValueError(f"num_nodes {value} is smaller than edge_index's largest index {self._edge_max}")
        for name in self.fields(NODE):
            self._check_rows(name, self._store[name], value, "num_nodes")
        object.__setattr__(self, "_num_nodes", int(value))
        object.__setattr__(self, "_adj", None)

    @property
    def num_edges(self) -> int:
        return 0 if self._edge_index is None else int(self._edge_index.size(1))

    def edge_index_or_empty(self) -> Tensor:
        """``edge_index``, or an empty ``[2, 0]`` int64 tensor (on the graph's device) when there is none."""
        if self._edge_index is not None:
            return self._edge_index
        device = next((v.device for v in self._store.values() if isinstance(v, Tensor)), torch.device("cpu"))
        return torch.empty(2, 0, dtype=torch.long, device=device)

    @property
    def adj(self) -> Adjacency:
        """The graph's structure, built once: every op and layer given this graph runs on it and its memo.

        Rebuilt when ``edge_index`` is replaced or edited through torch (its version counter: O(1) per use). An
        edit that bypasses the counter (``.data``, ``.numpy()``, another tensor on the same storage) is found by
        ``validate()``, ``to()`` and ``clone()``, which compare a checksum: call ``g.validate()`` after one.
        """
        self._sync()
        adj = self._adj
        n = self.num_nodes
        if adj is None or adj.num_dst != n:  # a node field set later can fix a larger num_nodes
            adj = Adjacency(self.edge_index_or_empty(), n, n)
            object.__setattr__(self, "_adj", adj)
        return adj

    def derived(self, key: Any, build: Callable[[], Any]) -> Any:
        """Memoise ``build()`` with the graph's structure (see :meth:`Adjacency.derived`)."""
        return self.adj.derived(key, build)

    def csr(self) -> CSR:
        """Incoming edges grouped by target: ``(rowptr [N+1], col [E] = sources, perm [E] = edge ids)``."""
        return self.adj.csr()

    def csr_t(self) -> CSR:
        """Outgoing edges grouped by source: ``(rowptr [N+1], col [E] = targets, perm [E] = edge ids)``."""
        return self.adj.csr_t()

    def has_csr(self) -> bool:
        """Whether the incoming-edge CSR is built already (it is built on first use)."""
        return self._adj is not None and self._adj.has("csr")

    # ------------------------------------------------------------ builders
    @classmethod
    def trusted(cls, edge_index: Optional[Tensor], num_nodes: int, fields: Collection[Tuple[str, str, Any]] = (),
                *, csr: Optional[CSR] = None) -> "Graph":
        """A graph from parts the caller guarantees (a sampler, a slicer): no size, bounds or kind checks.

        ``edge_index`` must be int64 ``[2, E]`` with indices in ``[0, num_nodes)``; ``fields`` are
        ``(name, kind, value)`` with consistent sizes; ``csr`` (incoming edges by target) seeds the structure.
        Use ``Graph(...)`` for anything that comes from a user.
        """
        g = cls.__new__(cls)
        Graph.__init__(g, num_nodes=num_nodes)
        if edge_index is not None:
            adj = Adjacency(edge_index, num_nodes, num_nodes, csr=csr)
            g._edge_index_reset(edge_index, num_nodes - 1 if edge_index.numel() else -1, adj)
        for name, kind, value in fields:
            g._store[name] = value
            g._kinds[name] = kind
        return g

    def select(self, nodes: Index, edges: Index, *, num_nodes: int, edge_index: Optional[Tensor],
               graph: Optional[Callable[[str, Any], Any]] = None,
               node_index: Optional[Callable[[str, Tensor], Any]] = None, skip: Collection[str] = (),
               csr: Optional[CSR] = None) -> "Graph":
        """The per-kind slicing rule, written once: a new graph whose node fields are ``value[nodes]``, edge fields
        ``value[edges]``, graph fields ``graph(name, value)`` (kept as they are when ``graph`` is None) and
        node_index fields ``node_index(name, value)`` (left out when ``node_index`` is None: the kept nodes are
        renumbered, and only the caller knows how). A callback returns :data:`DROP` to leave a field out.

        ``edge_index`` (already renumbered into ``[0, num_nodes)``) and ``csr`` are the caller's, trusted as in
        :meth:`trusted`. Used by ``Batch.get_graph``, the neighbour sampler and ``SubgraphBag``.
        """
        fields = []
        for name, kind, value in self.items():
            if name in skip or kind == "edge_index":
                continue
            if kind == NODE:
                part: Any = _take(value, nodes)
            elif kind == EDGE:
                part = _take(value, edges)
            elif kind == NODE_INDEX:
                part = DROP if node_index is None else node_index(name, value)
            else:
                part = value if graph is None else graph(name, value)
            if part is not DROP:
                fields.append((name, kind, part))
        return Graph.trusted(edge_index, num_nodes, fields, csr=csr)

    # ---------------------------------------------------------------- checks
    def validate(self) -> "Graph":
        """Check every invariant; raise ``ValueError``/``TypeError`` naming the field and value. Returns ``self``."""
        devices = {v.device for v in self._store.values() if isinstance(v, Tensor)}
        if self._edge_index is not None:
            devices.add(self._edge_index.device)
        if len(devices) > 1:
            raise ValueError(f"fields live on different devices: {sorted(map(str, devices))}")
        self._refresh()
        self._check_structure()
        for name in _NAN_CHECKED:
            value = self._store.get(name)
            if isinstance(value, Tensor) and value.is_floating_point() and value.device.type != "meta":
                bad = ~torch.isfinite(value)
                if bool(bad.any()):
                    where = bad.nonzero()[0].tolist()
                    raise ValueError(f"{name} has a non-finite value {value[tuple(where)].item()} at {where}")
        return self

    def _check_structure(self) -> None:
        """Sizes and indices against ``num_nodes``/``num_edges`` (what a file could get wrong)."""
        n = self.num_nodes
        if self._edge_index is not None:
            self._check_bounds("edge_index", self._edge_index, n)
        for name, value in self._store.items():
            kind = self._kinds[name]
            if kind == NODE:
                self._check_rows(name, value, n, "num_nodes")
            elif kind == EDGE:
                self._check_rows(name, value, self.num_edges, "num_edges")
            elif kind == NODE_INDEX:
                self._check_bounds(name, value, n)

    # ------------------------------------------------------------- transfers
    def _refresh(self) -> None:
        """Drop the structure if ``edge_index`` changed behind its version counter (an O(E) checksum)."""
        self._sync()
        if self._adj is not None and self._adj.stale():
            self._set_edge_index(self._edge_index)  # re-check the bounds, rebuild on next use

    def _map_tensors(self, fn: Callable[[Tensor], Tensor]) -> "Graph":
        self._refresh()
        out = copy.copy(self)
        object.__setattr__(out, "_store", {k: fn(v) if isinstance(v, Tensor) else v for k, v in self._store.items()})
        object.__setattr__(out, "_kinds", dict(self._kinds))
        ei = None if self._edge_index is None else fn(self._edge_index)
        adj = self._adj
        if adj is not None and ei is None:
            adj = None
        elif adj is not None:
            adj = adj.transfer(ei, fn)  # the CSRs move with the graph, so they are not rebuilt there
        object.__setattr__(out, "_edge_index", ei)
        object.__setattr__(out, "_edge_key", _edge_key(ei))
        object.__setattr__(out, "_adj", adj)
        self._map_extra(out, fn)
        return out

    def _map_extra(self, out: "Graph", fn: Callable[[Tensor], Tensor]) -> None:
        """Hook for subclasses (``Batch``) whose own bookkeeping tensors must follow ``to()``/``clone()``."""

    def map_tensors(self, fn: Callable[[Tensor], Tensor]) -> "Graph":
        """A copy with ``fn`` applied to every tensor (the cached CSR too, so ``to()`` does not rebuild it)."""
        return self._map_tensors(fn)

    # ---------------------------------------------------------- persistence
    def __getstate__(self) -> Dict[str, Any]:
        # Plain dicts, tensors and ints only, so that ``torch.load(weights_only=True)`` can rebuild a Graph
        # once the class is allow-listed (graphkit/__init__.py does it). The structure is derived: not saved.
        state = {k: v for k, v in self.__dict__.items() if k != "_adj"}
        state["_store"] = dict(self._store)
        state["_kinds"] = dict(self._kinds)
        state["_edge_key"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_adj", None)
        object.__setattr__(self, "_edge_key", _edge_key(self._edge_index))
        ei = self._edge_index
        if ei is not None:  # a file is input like any other: re-derive what it could have got wrong
            if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.size(0) != 2:
                raise ValueError(f"a loaded {type(self).__name__} has an edge_index of shape "
                                 f"{list(getattr(ei, 'shape', []))}, not [2, E]")
            object.__setattr__(self, "_edge_max", int(ei.max()) if ei.numel() else -1)
        self._check_structure()

    def __copy__(self) -> "Graph":
        out = type(self).__new__(type(self))
        for key, value in self.__dict__.items():
            object.__setattr__(out, key, value)
        object.__setattr__(out, "_store", dict(self._store))
        object.__setattr__(out, "_kinds", dict(self._kinds))
        return out

    def __repr__(self) -> str:
        parts = []
        items = list(self._store.items())
        if self._edge_index is not None:
            idx = next((i for i, (k, _) in enumerate(items) if self._kinds[k] != NODE), len(items))
            items.insert(idx, ("edge_index", self._edge_index))
        for name, value in items:
            shown = f"{list(value.shape)}" if isinstance(value, Tensor) else f"{value!r}"
            # The kind is shown where the name does not fix it (x, pos, edge_attr, edge_weight do).
            kind = self._kinds.get(name)
            if kind is not None and name not in _FIXED_KINDS:
                shown += f" ({kind})"
            parts.append(f"{name}={shown}")
        if not any(self._kinds.get(k) == NODE for k in self._store):
            parts.append(f"num_nodes={self.num_nodes}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _edge_key(ei: Optional[Tensor]) -> Optional[Tuple[int, Optional[int]]]:
    """``(identity, version)`` of ``edge_index``: when it changes, what was derived from it is dropped. Tensors
    made under ``torch.inference_mode()`` have no version counter; the structure's checksum covers them."""
    if ei is None:
        return None
    try:
        return id(ei), ei._version
    except RuntimeError:
        return id(ei), None


def field_kinds(graph: Graph) -> Dict[str, str]:
    """``{name: kind}`` of every field of ``graph`` (``edge_index`` left out), e.g. to record them elsewhere."""
    return {name: kind for name, kind, _ in graph.items() if kind != "edge_index"}


# A saved Graph holds only tensors, dicts, lists and ints; allow-listing the class lets
# ``torch.load(path, weights_only=True)`` rebuild it without unpickling arbitrary code.
torch.serialization.add_safe_globals([Graph])
