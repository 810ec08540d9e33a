r"""``to_hetero``: run a model written for homogeneous graphs on a heterogeneous one (PyG's semantics).

The model is traced once with ``torch.fx`` (every submodule but a ``Sequential`` is a leaf, as in PyG). Each value
of the traced program is classified as PyG does: inputs whose name contains ``edge`` or ``adj`` are edge-level,
other inputs node-level (``input_map`` overrides); a message-passing layer's output is node-level; any other
operation is edge-level if an argument is, else node-level if an argument is, else graph-level. Then:

* a message-passing layer gets one copy per edge type :math:`(s, r, t)`, called on ``x[s]`` (``s = t``) or
  ``(x[s], x[t])``, and the copies reaching one node type are combined by ``aggr`` (``sum``, ``mean``, ``max``,
  ``min``, ``mul``);
* any other node-level (edge-level) module gets one copy per node (edge) type; functions and methods run per type;
* graph-level values run once.

Instead of rewriting the program into one unrolled graph, :class:`ToHetero` interprets it per type at run time;
the per-type copies live where PyG's ``GraphModule`` keeps them (``conv1.author__writes__paper.lin_l.weight``,
``lin.paper.weight``), so PyG's ``state_dict`` loads unchanged.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import torch
import torch.fx
from torch import Tensor

from graphkit.nn.conv.hetero_conv import hetero_inputs
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.module_dict import EdgeType, Metadata, NodeType, check_metadata

__all__ = ["to_hetero", "ToHetero"]

Key = Union[NodeType, EdgeType]
_AGGRS: Dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "sum": torch.add, "mean": torch.add, "max": torch.maximum, "min": torch.minimum, "mul": torch.mul}


def key_name(key: Key) -> str:
    """The ``ModuleDict`` name of a type's copy (PyG's ``key2str``)."""
    name = "__".join(key) if isinstance(key, tuple) else key
    return name.replace(" ", "_").replace("-", "_").replace(":", "_")


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return not isinstance(m, torch.nn.Sequential)


def _map(value: Any, fn: Callable[[torch.fx.Node], Any]) -> Any:
    if isinstance(value, torch.fx.Node):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    return value


def _nodes_in(value: Any) -> List[torch.fx.Node]:
    found: List[torch.fx.Node] = []
    _map(value, lambda n: found.append(n))
    return found


class ToHetero(torch.nn.Module):
    """The module :func:`to_hetero` returns; see the module docstring. Call it as the original model, with
    dicts in place of tensors (or one graph with ``x_dict`` and ``edge_index_dict`` as the first argument)."""

    def __init__(self, module: torch.nn.Module, metadata: Metadata, aggr: str = "sum",
                 input_map: Optional[Dict[str, str]] = None) -> None:
        super().__init__()
        if aggr not in _AGGRS:
            raise ValueError(f"aggr must be one of {sorted(_AGGRS)}, got {aggr!r}")
        self.node_types, self.edge_types = check_metadata(metadata)
        self.aggr = aggr
        unused = sorted({e[0] for e in self.edge_types} - {e[2] for e in self.edge_types})
        if unused:
            warnings.warn(f"node types {unused} are never a destination: message passing does not update them",
                          stacklevel=3)
        self.program = _Tracer().trace(module)
        self.level: Dict[str, str] = {}
        self.types: Dict[str, Set[Key]] = {}  # the types each per-type value exists for
        self.placeholders: List[str] = []
        self.mp_nodes: Set[str] = set()
        self._classify(module, dict(input_map or {}))
        per_target = {n.target: self.level[n.name] for n in self.program.nodes if n.op == "call_module"}
        for name, child in module.named_children():
            self.add_module(name, self._duplicate(child, name, per_target))

    # -- classification (once, at construction) ---------------------------------------------------------------
    def _classify(self, module: torch.nn.Module, input_map: Dict[str, str]) -> None:
        all_nodes, all_edges = set(self.node_types), set(self.edge_types)
        for node in self.program.nodes:
            args = _nodes_in((node.args, node.kwargs))
            levels = {self.level[a.name] for a in args}
            if node.op == "placeholder":
                self.placeholders.append(node.name)
                lvl = input_map.get(node.name, "edge" if ("edge" in node.name or "adj" in node.name) else "node")
                if lvl not in ("node", "edge"):
                    raise ValueError(f"input_map[{node.name!r}] must be 'node' or 'edge', got {lvl!r}")
                self.types[node.name] = set(all_edges if lvl == "edge" else all_nodes)
            elif node.op == "get_attr":
                raise ValueError(f"to_hetero cannot split the attribute read {node.target!r} by type: register it "
                                 "as a module or pass it as an input")
            elif node.op == "output":
                continue
            elif node.op == "call_module" and isinstance(module.get_submodule(node.target), MessagePassing):
                lvl = "node"
                self.mp_nodes.add(node.name)
                for e in self.edge_types:
                    for a in args:
                        if self.level[a.name] == "node" and e[0] not in self.types[a.name]:
                            raise ValueError(f"{node.name!r} needs node type {e[0]!r} (edge type {e}) from "
                                             f"{a.name!r}, which has no value for it (is {e[0]!r} never a "
                                             "destination of an earlier message-passing layer?)")
                self.types[node.name] = {e[2] for e in self.edge_types}
            else:
                lvl = "edge" if "edge" in levels else "node" if "node" in levels else "graph"
                if lvl != "graph":
                    have = [self.types[a.name] for a in args if self.level[a.name] == lvl]
                    both, either = set.intersection(*have), set.union(*have)
                    if both != either:
                        t = sorted(either - both, key=str)[0]
                        src = next(a.name for a in args if self.level[a.name] == lvl and t not in self.types[a.name])
                        raise ValueError(f"{node.name!r} needs {lvl} type {t!r} from {src!r}, which has no value "
                                         f"for it (is {t!r} never a destination of a message-passing layer?)")
                    self.types[node.name] = both
            self.level[node.name] = lvl

    def _duplicate(self, module: torch.nn.Module, target: str, per_target: Dict[str, str]) -> torch.nn.Module:
        if isinstance(module, (torch.nn.Sequential, torch.nn.ModuleList)):
            return torch.nn.ModuleList([self._duplicate(m, f"{target}.{i}", per_target) for i, m in enumerate(module)])
        if isinstance(module, torch.nn.ModuleDict):
            return torch.nn.ModuleDict({k: self._duplicate(m, f"{target}.{k}", per_target) for k, m in module.items()})
        lvl = per_target.get(target)
        if lvl is None or lvl == "graph":
            return module
        keys: Sequence[Key] = self.edge_types if (lvl == "edge" or isinstance(module, MessagePassing)) \
            else self.node_types
        copies = torch.nn.ModuleDict()
        for key in keys:
            copies[key_name(key)] = copy.deepcopy(module)
            if len(keys) > 1 and hasattr(module, "reset_parameters"):
                copies[key_name(key)].reset_parameters()  # each type learns its own weights
        return copies

    # -- execution ----------------------------------------------------------------------------------------------
    def _copy(self, target: str, key: Key) -> torch.nn.Module:
        return self.get_submodule(f"{target}.{key_name(key)}")

    def _bind(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        args = hetero_inputs(args)
        if len(args) > len(self.placeholders):
            raise ValueError(f"the model takes {len(self.placeholders)} inputs {self.placeholders}, got {len(args)}")
        bound = dict(zip(self.placeholders, args))
        for k, v in kwargs.items():
            if k not in self.placeholders:
                raise ValueError(f"unknown input {k!r}; the model takes {self.placeholders}")
            bound[k] = v
        out: Dict[str, Any] = {}
        for name in self.placeholders:
            if name not in bound:
                raise ValueError(f"missing input {name!r}")
            value, lvl = bound[name], self.level[name]
            if value is None:
                out[name] = None
                continue
            if not isinstance(value, Mapping):
                raise ValueError(f"input {name!r} must be a dict keyed by {lvl} type, got {type(value).__name__}")
            wanted = self.node_types if lvl == "node" else self.edge_types
            for key in wanted:
                if key not in value:
                    raise ValueError(f"{name} has no entry for {lvl} type {key!r}, which metadata lists "
                                     f"(it has {sorted(map(str, value))})")
            out[name] = {k: value[k] for k in wanted}
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        env: Dict[str, Any] = self._bind(args, kwargs)
        value = lambda n: env[n.name]  # noqa: E731
        for node in self.program.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "output":
                return _map(node.args[0], value)
            lvl = self.level[node.name]
            if lvl == "graph":
                env[node.name] = self._call(node, None, *_map((node.args, node.kwargs), value))
            elif node.name in self.mp_nodes:
                env[node.name] = self._message_passing(node, env)
            else:
                keys = [k for k in (self.node_types if lvl == "node" else self.edge_types)
                        if k in self.types[node.name]]
                env[node.name] = {k: self._call(node, k, *self._args_for(node, k, env)) for k in keys}
        return None

    def _args_for(self, node: torch.fx.Node, key: Key, env: Dict[str, Any]) -> Tuple[Any, Any]:
        def pick(n: torch.fx.Node) -> Any:
            lvl, v = self.level[n.name], env[n.name]
            if lvl == "graph" or v is None:
                return v
            if isinstance(key, tuple) and lvl == "node":  # a node-level value seen from an edge type
                return v[key[0]] if key[0] == key[2] else (v.get(key[0]), v.get(key[2]))
            return v[key]

        return _map((node.args, node.kwargs), pick)

    def _call(self, node: torch.fx.Node, key: Optional[Key], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        if node.op == "call_module":
            mod = self.get_submodule(node.target if key is None else f"{node.target}.{key_name(key)}")
            return mod(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **kwargs)
        return node.target(*args, **kwargs)

    def _message_passing(self, node: torch.fx.Node, env: Dict[str, Any]) -> Dict[NodeType, Tensor]:
        per_dst: Dict[NodeType, List[Tensor]] = {}
        for e in self.edge_types:
            per_dst.setdefault(e[2], []).append(self._call(node, e, *self._args_for(node, e, env)))
        combine = _AGGRS[self.aggr]
        out: Dict[NodeType, Tensor] = {}
        for t in self.node_types:
            if t not in per_dst:
                continue
            queue = list(per_dst[t])
            while len(queue) > 1:  # PyG's pairing order, so sums round the same way
                a, b = queue.pop(0), queue.pop(0)
                queue.append(combine(a, b))
            out[t] = queue[0] / len(per_dst[t]) if self.aggr == "mean" and len(per_dst[t]) > 1 else queue[0]
        return out


def to_hetero(module: torch.nn.Module, metadata: Metadata, aggr: str = "sum",
              input_map: Optional[Dict[str, str]] = None) -> ToHetero:
    r"""Turn a model written for homogeneous graphs into one for heterogeneous graphs (PyG's ``to_hetero``).

    .. math::
        \mathbf{x}'_t = \mathop{\mathrm{aggr}}_{(s, r, t)} f_{(s, r, t)}\big((\mathbf{x}_s, \mathbf{x}_t),
        \mathbf{A}_{(s, r, t)}\big)

    for every message-passing layer :math:`f` (one copy per edge type), other layers one copy per node type.
    Use bipartite layers (``SAGEConv((-1, -1), F)``, ``GATConv((-1, -1), F, add_self_loops=False)``) when
    source and destination types differ; lazy sizes (``-1``) are resolved per copy on the first call.

    Args:
        module: the homogeneous model (traceable by ``torch.fx``: no control flow on tensor values).
        metadata: ``(node_types, edge_types)``, e.g. ``graph.metadata()``; every edge type's endpoints must be
            node types (else ``ValueError``).
        aggr: ``"sum"``, ``"mean"``, ``"max"``, ``"min"`` or ``"mul"``: combines the edge types reaching one
            node type.
        input_map: ``{input name: "node" | "edge"}`` overriding the name rule (``edge``/``adj`` -> edge-level).

    Shapes:
        each input ``{type: tensor}`` (or one graph with ``x_dict``/``edge_index_dict``) -> the model's outputs
        as ``{type: tensor}``.

    >>> import torch
    >>> from graphkit.nn import SAGEConv
    >>> class GNN(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = SAGEConv(5, 4)
    ...         self.lin = torch.nn.LazyLinear(2)  # sized per node type on the first call
    ...     def forward(self, x, edge_index):
    ...         return self.lin(self.conv(x, edge_index).relu())
    >>> meta = (["author", "paper"], [("author", "writes", "paper"), ("paper", "rev_writes", "author")])
    >>> model = to_hetero(GNN(), meta, aggr="sum")
    >>> x = {"author": torch.randn(3, 5), "paper": torch.randn(4, 5)}
    >>> ei = {meta[1][0]: torch.tensor([[0, 2], [1, 3]]), meta[1][1]: torch.tensor([[1, 3], [0, 2]])}
    >>> {k: tuple(v.shape) for k, v in model(x, ei).items()}
    {'author': (3, 2), 'paper': (4, 2)}
    >>> sorted(k for k in model.state_dict() if k.startswith("lin."))
    ['lin.author.bias', 'lin.author.weight', 'lin.paper.bias', 'lin.paper.weight']
    """
    return ToHetero(module, metadata, aggr=aggr, input_map=input_map)
