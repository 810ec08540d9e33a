r"""HeteroConv: one convolution per edge type, combined across the edge types that reach a node type."""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from graphkit.nn.module_dict import EdgeType, TypedModuleDict

__all__ = ["HeteroConv", "group", "hetero_inputs"]

AGGRS = ("sum", "add", "mean", "max", "min", "cat", None)


def group(xs: List[Tensor], aggr: Optional[str]) -> Optional[Tensor]:
    """Combine the outputs of the edge types that reach one node type: ``sum``/``add``, ``mean``, ``max``,
    ``min`` elementwise, ``cat`` along features, ``None`` stacks them as ``[N, T, F]`` (PyG's ``group``)."""
    if not xs:
        return None
    if aggr is None:
        return torch.stack(xs, dim=1)
    if len(xs) == 1:
        return xs[0]
    if aggr == "cat":
        return torch.cat(xs, dim=-1)
    stacked = torch.stack(xs, dim=0)
    if aggr in ("sum", "add"):
        return stacked.sum(0)
    if aggr == "mean":
        return stacked.mean(0)
    return stacked.amax(0) if aggr == "max" else stacked.amin(0)


def hetero_inputs(args: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """``(graph,)`` with ``x_dict`` and ``edge_index_dict`` (a ``HeteroGraph``, PyG's ``HeteroData``) becomes
    ``(x_dict, edge_index_dict)``; dicts pass through."""
    if len(args) >= 1 and hasattr(args[0], "x_dict") and hasattr(args[0], "edge_index_dict"):
        return (args[0].x_dict, args[0].edge_index_dict) + tuple(args[1:])
    return args


class HeteroConv(torch.nn.Module):
    r"""Heterogeneous convolution from one (bipartite) convolution per edge type :math:`(s, r, t)`:

    .. math::
        \mathbf{x}'_{v} = \mathop{\mathrm{aggr}}_{(s, r, t) \,:\, t = \mathrm{type}(v)}
        \mathrm{conv}_{(s, r, t)}\big((\mathbf{X}_s, \mathbf{X}_t), \mathbf{A}_{(s, r, t)}\big)_v

    with ``aggr`` one of ``sum`` (``add``), ``mean``, ``max``, ``min`` (elementwise), ``cat`` (features) or
    ``None`` (stacked). PyG's ``HeteroConv`` semantics and ``state_dict`` names
    (``convs.<src___rel___dst>.*``): positional dicts hand each conv the value of its edge type, else of its
    node type when ``s = t``, else the pair ``(value[s], value[t])``; keyword arguments end in ``_dict``
    (``edge_attr_dict`` reaches the convs as ``edge_attr``). An edge type with no edge-level input (no
    ``edge_index``) is skipped; node types no edge type reaches are absent from the output.

    Args:
        convs: ``{(src, relation, dst): module}``, each called as ``module(x or (x_src, x_dst), edge_index, ...)``.
        aggr: how to combine the edge types that reach one node type.

    Shapes:
        x_dict ``{type: (N_type, F_type)}``, edge_index_dict ``{(s, r, t): (2, E_srt)}`` (or one graph with
        ``x_dict`` and ``edge_index_dict``) -> ``{t: (N_t, F_out)}`` (``(N_t, T F_out)`` for ``cat``).

    >>> import torch
    >>> from graphkit.nn import SAGEConv
    >>> conv = HeteroConv({("author", "writes", "paper"): SAGEConv((4, 3), 2),
    ...                    ("paper", "cites", "paper"): SAGEConv(3, 2)}, aggr="sum")
    >>> x_dict = {"author": torch.randn(5, 4), "paper": torch.randn(6, 3)}
    >>> ei = {("author", "writes", "paper"): torch.tensor([[0, 4], [1, 2]]),
    ...       ("paper", "cites", "paper"): torch.tensor([[0, 1], [2, 3]])}
    >>> {k: tuple(v.shape) for k, v in conv(x_dict, ei).items()}
    {'paper': (6, 2)}
    """

    def __init__(self, convs: Mapping[EdgeType, torch.nn.Module], aggr: Optional[str] = "sum") -> None:
        super().__init__()
        if aggr not in AGGRS:
            raise ValueError(f"aggr must be one of {AGGRS}, got {aggr!r}")
        for key in convs:
            if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key)):
                raise ValueError(f"HeteroConv's keys must be edge types (src, relation, dst) of str, got {key!r}")
        src_types, dst_types = {k[0] for k in convs}, {k[-1] for k in convs}
        if src_types - dst_types:
            warnings.warn(f"node types {sorted(src_types - dst_types)} are never a destination: HeteroConv "
                          "returns no representation for them", stacklevel=2)
        self.convs = TypedModuleDict(convs)
        self.aggr = aggr

    def reset_parameters(self) -> None:
        for conv in self.convs.values():
            if hasattr(conv, "reset_parameters"):
                conv.reset_parameters()

    def forward(self, *args_dict: Any, **kwargs_dict: Any) -> Dict[str, Tensor]:
        args_dict = hetero_inputs(args_dict)
        for name in kwargs_dict:
            if not name.endswith("_dict"):
                raise ValueError(f"HeteroConv's keyword arguments must end with '_dict', got {name!r}")
        out: Dict[str, List[Tensor]] = {}
        for edge_type, conv in self.convs.items():
            src, _, dst = edge_type
            edge_level = False
            args: List[Any] = []
            for values in args_dict:
                value, edge_level_i = self._pick(values, edge_type)
                edge_level |= edge_level_i
                if value is not _ABSENT:
                    args.append(value)
            kwargs: Dict[str, Any] = {}
            for name, values in kwargs_dict.items():
                value, edge_level_i = self._pick(values, edge_type)
                edge_level |= edge_level_i
                if value is not _ABSENT:
                    kwargs[name[:-5]] = value
            if not edge_level:
                continue
            if args_dict and isinstance(args_dict[0], Mapping) and src not in args_dict[0]:
                raise ValueError(f"x_dict has no features for node type {src!r}, which edge type {edge_type} needs "
                                 f"(node types with features: {sorted(args_dict[0])})")
            out.setdefault(dst, []).append(conv(*args, **kwargs))
        return {k: group(v, self.aggr) for k, v in out.items()}

    @staticmethod
    def _pick(values: Any, edge_type: EdgeType) -> Tuple[Any, bool]:
        """The value ``values`` holds for ``edge_type`` and whether it is edge-level (PyG's rule)."""
        src, _, dst = edge_type
        if not isinstance(values, Mapping):
            raise ValueError(f"HeteroConv takes dicts keyed by node or edge type, got {type(values).__name__}")
        if edge_type in values:
            return values[edge_type], True
        if src == dst and src in values:
            return values[src], False
        if src in values or dst in values:
            return (values.get(src), values.get(dst)), False
        return _ABSENT, False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_relations={len(self.convs)})"


_ABSENT = object()
