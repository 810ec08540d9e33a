r"""``MessagePassing``: the base class of every graph layer in graphkit.

A layer computes

.. math::
    \mathbf{x}_i' = \gamma\Big(\mathbf{x}_i,\ \bigoplus_{j \in \mathcal{N}(i)} \phi(\mathbf{x}_i, \mathbf{x}_j,
    \mathbf{e}_{j \to i})\Big)

with :math:`\phi` = ``message``, :math:`\bigoplus` = ``aggregate`` (``aggr`` by name: ``"sum"``, ``"mean"``,
``"max"``, ``"min"``, ``"var"``, ``"std"``, ``"softmax"``, or several at once with ``aggr=[...]``) and
:math:`\gamma` = ``update``. ``propagate(adj, **kwargs)`` wires them up by argument name, as PyG does:

* an argument of ``message`` called ``<name>_j`` receives ``kwargs[name]`` gathered at each edge's *source*,
  ``<name>_i`` at its *target*; ``kwargs[name]`` may be a pair ``(x_src, x_dst)`` for bipartite graphs;
* ``index`` (targets), ``edge_index``, ``edge_index_i``/``_j``, ``size``, ``size_i``/``_j``, ``dim_size`` and
  ``adj`` (the resolved :class:`~graphkit.nn.adjacency.Adjacency`) are filled in; anything else is passed by name;
* with a sparse matrix as input (``SparseTensor``, ``torch.sparse``), ``edge_weight``, ``edge_attr`` and
  ``edge_type`` that were not given are read from its stored values, as PyG does;
* ``message`` may return a tuple (for an ``aggregate`` that takes one).

The structure may be passed by position or as ``edge_index=`` (PyG's name) or ``adj=``, both to ``propagate``
and to any layer's ``forward``; it may be an ``edge_index``, a ``Graph``/``Batch``, a ``SparseTensor``, a
``torch.sparse`` matrix or PyG's ``EdgeIndex`` (whose ``sparse_size`` fixes the node counts).

**The fused path is the default.** When the messages would only be a copy of :math:`\mathbf{x}_j` (``message`` not
overridden), or a copy scaled by a per-edge weight (the class sets ``fused_weight = "edge_weight"``, naming the
keyword that holds the weight), and the aggregation is a plain reduction, ``propagate`` calls
:func:`graphkit.ops.spmm` and never builds the ``E x F`` message tensor. A layer can also write its own
``message_and_aggregate(adj, ...)``. ``layer.fuse = False`` forces the message path (used by the tests to check
that both agree). With a ``Graph``/``Batch`` as ``adj`` the graph's cached CSR is reused by every layer and epoch.

Writing a layer on top (attention, sheaf, subgraph layers do): resolve the structure once with
``adj = self.adjacency(adj, x=x)`` when ``forward`` needs it (normalisation, degrees, attention scores); the
resulting :class:`~graphkit.nn.adjacency.Adjacency` has ``src``/``dst``, ``degree()``, ``csr()`` (cached for a
``Graph``) and the fused ``spmm`` / ``sddmm`` / ``edge_softmax``, and ``propagate`` accepts it in place of ``adj``.
Per-edge scores go through ``edge_updater`` + ``edge_update`` (same ``_i``/``_j`` gathering as ``message``).

``message_and_aggregate`` has two calling conventions, chosen by the class attribute ``fused_adjacency``:

* ``fused_adjacency = True`` (graphkit's own layers, e.g. the attention layers): it is called for every input
  with the resolved :class:`~graphkit.nn.adjacency.Adjacency` (unless ``fuse=False``);
* ``False`` (the default, PyG's convention, for layers ported from PyG): it is called only when the input is a
  sparse matrix (and ``flow="source_to_target"``), with that matrix itself (``adj_t``); any other input takes the
  ``message`` -> ``aggregate`` path.

>>> import torch
>>> class Mean(MessagePassing):
...     def __init__(self):
...         super().__init__(aggr="mean")
...     def forward(self, x, adj):
...         return self.propagate(adj, x=x)
>>> Mean()(torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([[0, 1, 2], [2, 2, 0]])).view(-1).tolist()
[5.0, 0.0, 2.0]
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from graphkit.nn.adjacency import FLOWS, Adjacency, is_sparse_adj
from graphkit.nn.aggr import AggrLike, Aggregation, MultiAggregation, aggr_resolver, is_fusable

__all__ = ["MessagePassing"]

_EMPTY = inspect.Parameter.empty
_SPECIAL = frozenset(
    {"index", "edge_index", "edge_index_i", "edge_index_j", "size", "size_i", "size_j", "dim_size", "ptr", "adj",
     "adj_t"}
)


#: Keywords PyG fills from a sparse matrix's stored values when the caller did not give them.
_SPARSE_VALUE_ARGS = ("edge_weight", "edge_attr", "edge_type")


def _plain_edge_index(adj: Any, size: Any, flow: str) -> Tuple[Any, Any]:
    """PyG's ``EdgeIndex`` -> ``(plain edge_index, size)``, its ``sparse_size`` (rows: ``edge_index[0]``'s node
    set, columns: ``edge_index[1]``'s) filling the sides of ``size`` (message order) that are not given."""
    if not (isinstance(adj, Tensor) and type(adj).__name__ == "EdgeIndex" and hasattr(adj, "sparse_size")):
        return adj, size
    rows, cols = adj.sparse_size()
    known = (rows, cols) if flow == "source_to_target" else (cols, rows)
    given = (None, None) if size is None else tuple(size)
    merged = tuple(g if g is not None else k for g, k in zip(given, known))
    return adj.as_tensor(), (None if merged == (None, None) else merged)


def _params(fn: Any, skip: int = 0) -> List[Tuple[str, Any]]:
    """``(name, default)`` of ``fn``'s named parameters, after the first ``skip`` (``*args``/``**kwargs`` dropped)."""
    sig = inspect.signature(fn)
    out = [
        (p.name, p.default)
        for p in sig.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    return out[skip:]


class MessagePassing(torch.nn.Module):
    """Base class; see the module docstring.

    Args:
        aggr: aggregation by name, an :class:`~graphkit.nn.aggr.Aggregation`, or a list (concatenated).
        aggr_kwargs: keyword arguments for the aggregation(s).
        flow: ``"source_to_target"`` (messages run ``edge_index[0] -> edge_index[1]``) or ``"target_to_source"``.
        node_dim: kept for PyG compatibility; nodes are always along dim 0 (so ``0`` or ``-2`` for ``[N, F]``).
        fuse: take the fused ``spmm`` path whenever the message allows it.

    Shapes:
        Subclasses document theirs; the convention is ``(|V|, F_in)`` -> ``(|V|, F_out)``, or
        ``((|V_src|, F), (|V_dst|, F))`` -> ``(|V_dst|, F_out)`` for bipartite inputs.
    """

    #: Name of the keyword that holds a per-edge weight when ``message`` is ``weight * x_j`` (enables fusion).
    fused_weight: Optional[str] = None
    #: Name of the node-feature keyword that the fused path propagates.
    fused_input: str = "x"
    #: ``message_and_aggregate`` takes graphkit's ``Adjacency`` and runs for every input (else PyG's convention).
    fused_adjacency: bool = False

    def __init__(self, aggr: AggrLike = "sum", *, aggr_kwargs: Optional[Dict[str, Any]] = None,
                 flow: str = "source_to_target", node_dim: int = -2, fuse: bool = True,
                 decomposed_layers: int = 1) -> None:
        super().__init__()
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
        if node_dim not in (0, -2):
            raise ValueError(f"node_dim must be 0 or -2 (nodes are always along the first dim), got {node_dim}")
        if decomposed_layers != 1:
            raise ValueError(f"decomposed_layers must be 1 (graphkit fuses instead), got {decomposed_layers}")
        self.aggr = aggr if isinstance(aggr, (str, list, tuple)) or aggr is None else type(aggr).__name__
        self.aggr_module: Aggregation = aggr_resolver("sum" if aggr is None else aggr, **(aggr_kwargs or {}))
        self.flow, self.node_dim, self.fuse = flow, node_dim, fuse
        cls = type(self)
        self._msg_params = _params(self.message)
        self._aggr_params = _params(self.aggregate, skip=1)
        self._upd_params = _params(self.update, skip=1)
        self._edge_params = _params(self.edge_update)
        self._mag_params = _params(self.message_and_aggregate, skip=1)
        self._custom_fused = cls.message_and_aggregate is not MessagePassing.message_and_aggregate
        self._copy_message = cls.message is MessagePassing.message
        self._default_aggregate = cls.aggregate is MessagePassing.aggregate
        # PyG's name for the structure, accepted by every layer whose forward calls it ``adj`` (see __call__).
        fwd = inspect.signature(self.forward).parameters
        self._adj_alias = "adj" in fwd and "edge_index" not in fwd
        # Which side (0: sources via _j, 1: targets via _i) each node-feature name fixes, as PyG infers sizes.
        self._size_sides: Dict[str, set] = {self.fused_input: {0}}
        for n, _ in self._msg_params + self._edge_params:
            if n.endswith(("_i", "_j")):
                self._size_sides.setdefault(n[:-2], set()).add(0 if n.endswith("_j") else 1)

    # ----------------------------------------------------------------------- user hooks
    def message(self, x_j: Tensor) -> Tensor:
        r"""The message :math:`\phi`; by default a copy of the source's features (and then fused)."""
        return x_j

    def aggregate(self, inputs: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        """Reduce the messages per target with ``self.aggr_module``."""
        return self.aggr_module(inputs, index, dim_size=dim_size)

    def update(self, inputs: Tensor) -> Tensor:
        r"""The update :math:`\gamma`; identity by default."""
        return inputs

    def message_and_aggregate(self, adj: Any, **kwargs: Any) -> Tensor:  # pragma: no cover - optional
        """Fused ``message`` + ``aggregate``; override when a layer's message allows it. It receives an
        ``Adjacency`` when the class sets ``fused_adjacency = True``, else (PyG's convention) the sparse matrix."""
        raise NotImplementedError

    def edge_update(self) -> Tensor:  # pragma: no cover - optional
        """Per-edge computation for :meth:`edge_updater` (e.g. attention scores)."""
        raise NotImplementedError

    def reset_parameters(self) -> None:
        self.aggr_module.reset_parameters()

    # ----------------------------------------------------------------------- machinery
    def _infer_size(self, kwargs: Dict[str, Any], size: Any) -> Tuple[Optional[int], Optional[int]]:
        n_src, n_dst = (None, None) if size is None else (size[0], size[1])
        for name, sides in self._size_sides.items():
            data = kwargs.get(name)
            pair = data if isinstance(data, (tuple, list)) else (data, data)
            for side, t in enumerate(pair[:2]):
                # A pair names both node sets; a single tensor only the side(s) the layer reads it on.
                if not isinstance(t, Tensor) or t.dim() == 0 or (pair is not data and side not in sides):
                    continue
                have = (n_src, n_dst)[side]
                if have is not None and have != t.size(0):
                    what = "source" if side == 0 else "target"
                    raise ValueError(
                        f"{name!r} has {t.size(0)} {what} rows but another input (or size) gives {have} {what} nodes"
                    )
                n_src, n_dst = (t.size(0), n_dst) if side == 0 else (n_src, t.size(0))
        return n_src, n_dst

    def adjacency(self, adj: Any, size: Any = None, **node_features: Any) -> Adjacency:
        """Resolve ``adj`` once (e.g. to normalise edge weights in ``forward``), then pass the result to
        ``propagate``. Node features (``x=...``, or pairs) fix the sizes of the two node sets."""
        if isinstance(adj, Adjacency):
            return adj
        adj, size = _plain_edge_index(adj, size, self.flow)
        n_src, n_dst = self._infer_size(node_features, size)
        return Adjacency.from_adj(adj, (n_src, n_dst), self.flow)

    def _collect(self, params: List[Tuple[str, Any]], adj: Adjacency, kwargs: Dict[str, Any], where: str
                 ) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, default in params:
            if name in _SPARSE_VALUE_ARGS and kwargs.get(name) is None and adj.value is not None:
                out[name] = adj.value  # PyG reads a sparse matrix's values into these when not given
            elif name in kwargs:
                out[name] = kwargs[name]
            elif name[-2:] in ("_i", "_j") and name[:-2] in kwargs:
                data = kwargs[name[:-2]]
                side = 0 if name.endswith("_j") else 1
                if isinstance(data, (tuple, list)):
                    data = data[side]
                if isinstance(data, Tensor):
                    idx = adj.edge_index[side]
                    data = data.index_select(0, idx)
                out[name] = data
            elif name in _SPECIAL:
                out[name] = self._special(name, adj)
            elif default is not _EMPTY:
                out[name] = default
            else:
                raise TypeError(f"{type(self).__name__}.{where} needs {name!r}, which propagate() was not given")
        return out

    def _special(self, name: str, adj: Adjacency) -> Any:
        if name in ("index", "edge_index_i"):
            return adj.dst
        if name == "edge_index_j":
            return adj.src
        if name == "edge_index":
            return adj.edge_index if self.flow == "source_to_target" else adj.edge_index.flip(0)
        if name == "size":
            return (adj.num_src, adj.num_dst)
        if name in ("size_i", "dim_size"):
            return adj.num_dst
        if name == "size_j":
            return adj.num_src
        if name in ("adj", "adj_t"):
            return adj
        return None  # ptr: messages are in edge order, not CSR order

    def fusable(self) -> bool:
        """Will ``propagate`` take the fused ``spmm`` path (given the layer, its aggregation and ``fuse``)?"""
        if not self.fuse or not is_fusable(self.aggr_module) or not self._default_aggregate:
            return False
        return (self._custom_fused and self.fused_adjacency) or self._copy_message or self.fused_weight is not None

    def fused_aggregate(self, adj: Adjacency, x: Any, edge_weight: Optional[Tensor] = None, *,
                        diag: Optional[Tensor] = None, bias: Optional[Tensor] = None,
                        act: Optional[str] = None) -> Tensor:
        r""":math:`\bigoplus_{j \to i} w_{ji} x_j` with the layer's aggregation(s), through ``spmm``; ``diag``,
        ``bias`` and ``act`` are ``spmm``'s epilogue (one aggregation only)."""
        x_src = x[0] if isinstance(x, (tuple, list)) else x
        if not isinstance(x_src, Tensor):
            raise TypeError(f"the fused path needs node features as a tensor, got {type(x_src).__name__}")
        if edge_weight is None and adj.value is not None:
            edge_weight = adj.value.to(x_src.dtype) if adj.value.dim() == 1 else None
        if edge_weight is not None and edge_weight.dim() == 2 and edge_weight.size(1) == 1:
            edge_weight = edge_weight.view(-1)
        module = self.aggr_module
        epilogue = diag is not None or bias is not None or act is not None
        if isinstance(module, MultiAggregation):
            if epilogue:
                raise ValueError(f"an spmm epilogue (diag, bias, act) needs one aggregation, got {module!r}")
            return module.combine([adj.spmm(x_src, edge_weight, a.reduce) for a in module.aggrs])  # type: ignore
        return adj.spmm(x_src, edge_weight, module.reduce, diag=diag, bias=bias, act=act)  # type: ignore[arg-type]

    @staticmethod
    def _weighted(msg: Tensor, w: Optional[Tensor], adj: Adjacency) -> Tensor:
        # The unfused twin of a weighted spmm: the same weight, read the same way as fused_aggregate does.
        if w is None and adj.value is not None and adj.value.dim() == 1:
            w = adj.value.to(msg.dtype)
        if w is None:
            return msg
        return msg * w.reshape(w.size(0), *([1] * (msg.dim() - 1)))

    def _reduce_on_csr(self, msg: Tensor, adj: Adjacency) -> Tensor:
        # A Graph's cached CSR groups the edges already: a segment reduce needs no sort (scatter would sort).
        module = self.aggr_module
        if isinstance(module, MultiAggregation):
            return module.combine([adj.reduce_messages(msg, a.reduce) for a in module.aggrs])  # type: ignore
        return adj.reduce_messages(msg, module.reduce)  # type: ignore[arg-type]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # PyG code calls layers as conv(x, edge_index=...); graphkit's forwards name the structure ``adj``.
        if self._adj_alias and "edge_index" in kwargs:
            if "adj" in kwargs:
                raise TypeError(f"{type(self).__name__} got both adj= and edge_index= (they are the same argument)")
            kwargs["adj"] = kwargs.pop("edge_index")
        return super().__call__(*args, **kwargs)

    @staticmethod
    def _structure(edge_index: Any, kwargs: Dict[str, Any], where: str) -> Any:
        """The structure, given by position or as ``edge_index=`` (PyG's name) or ``adj=``."""
        adj = kwargs.pop("adj", None)
        if edge_index is not None and adj is not None:
            raise TypeError(f"{where}() got both edge_index and adj (they are the same argument)")
        adj = edge_index if edge_index is not None else adj
        if adj is None:
            raise TypeError(f"{where}() needs the structure: {where}(edge_index, ...) or {where}(adj=...)")
        return adj

    def _pyg_fused(self, adj: Any) -> bool:
        """PyG's rule for a ``message_and_aggregate(adj_t, ...)`` written PyG's way: only for a sparse matrix."""
        return (self._custom_fused and not self.fused_adjacency and self.fuse and is_sparse_adj(adj)
                and self.flow == "source_to_target")

    def propagate(self, edge_index: Any = None, size: Any = None, **kwargs: Any) -> Tensor:
        """Run message -> aggregate -> update (or the fused path) over the structure; see the module docstring."""
        adj = self._structure(edge_index, kwargs, "propagate")
        adj_ = self.adjacency(adj, size, **kwargs)
        if self._pyg_fused(adj):
            collected = self._collect(self._mag_params, adj_, kwargs, "message_and_aggregate")
            out = self.message_and_aggregate(adj, **collected)
        elif self.fusable():
            if self._custom_fused and self.fused_adjacency:
                out = self.message_and_aggregate(adj_, **self._collect(self._mag_params, adj_, kwargs,
                                                                       "message_and_aggregate"))
            else:
                weight = kwargs.get(self.fused_weight) if self.fused_weight is not None else None
                out = self.fused_aggregate(adj_, kwargs.get(self.fused_input), weight)
        else:
            out = self._message_path(adj_, kwargs)
        return self.update(out, **self._collect(self._upd_params, adj_, kwargs, "update"))

    def _message_path(self, adj_: Adjacency, kwargs: Dict[str, Any]) -> Any:
        msg = self.message(**self._collect(self._msg_params, adj_, kwargs, "message"))
        if self._copy_message and self.fused_weight is not None:
            msg = self._weighted(msg, kwargs.get(self.fused_weight), adj_)
        # A tuple of per-edge tensors is allowed (as in PyG) for an aggregate that takes one.
        first = msg[0] if isinstance(msg, tuple) and msg else msg
        if not isinstance(first, Tensor) or first.dim() == 0 or first.size(0) != adj_.num_edges:
            raise ValueError(
                f"{type(self).__name__}.message must return one row per edge ({adj_.num_edges}), "
                f"got {getattr(first, 'shape', type(first).__name__)}"
            )
        if isinstance(msg, Tensor) and self._default_aggregate and is_fusable(self.aggr_module):
            return self._reduce_on_csr(msg, adj_)
        return self.aggregate(msg, **self._collect(self._aggr_params, adj_, kwargs, "aggregate"))

    def edge_updater(self, edge_index: Any = None, size: Any = None, **kwargs: Any) -> Tensor:
        """Call ``edge_update`` with the same ``_i``/``_j`` gathering as ``message`` (one row per edge)."""
        adj_ = self.adjacency(self._structure(edge_index, kwargs, "edge_updater"), size, **kwargs)
        return self.edge_update(**self._collect(self._edge_params, adj_, kwargs, "edge_update"))

    def __repr__(self) -> str:
        if hasattr(self, "in_channels") and hasattr(self, "out_channels"):
            return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        return super().__repr__()
