r"""Aggregations: how the messages arriving at one node become one vector.

Every aggregation is a module called as ``aggr(msg, index, dim_size)`` on per-edge messages ``[E, *]`` grouped by
target ``index [E]``. The ones that are a plain reduction (sum, mean, max, min) also carry ``reduce``, which is
what lets :class:`~graphkit.nn.MessagePassing` skip the messages altogether and call the fused
:func:`graphkit.ops.spmm` instead. Names follow PyG (``"add"`` is ``"sum"``), and so do the numerics (std's
clamp, softmax's temperature), so layers built on them match PyG to rounding.

>>> import torch
>>> msg, index = torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0, 0, 1])
>>> aggr_resolver("mean")(msg, index, dim_size=3).view(-1).tolist()
[2.0, 5.0, 0.0]
>>> aggr_resolver(["sum", "max"])(msg, index, dim_size=2).tolist()
[[4.0, 3.0], [5.0, 5.0]]
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from graphkit import ops

__all__ = [
    "Aggregation",
    "SumAggregation",
    "MeanAggregation",
    "MaxAggregation",
    "MinAggregation",
    "MulAggregation",
    "VarAggregation",
    "StdAggregation",
    "SoftmaxAggregation",
    "MultiAggregation",
    "aggr_resolver",
    "is_fusable",
    "AggrLike",
]


class Aggregation(torch.nn.Module):
    """Base class. ``reduce`` is the :func:`graphkit.ops.spmm` reduction when the aggregation is one, else ``None``."""

    reduce: Optional[str] = None

    @property
    def fusable(self) -> bool:
        """Can the fused ``spmm`` compute this without materialising messages?"""
        return self.reduce is not None

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def reset_parameters(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check(x: Tensor, index: Tensor) -> None:
    if x.dim() == 0 or x.size(0) != index.numel():
        raise ValueError(f"messages have shape {list(x.shape)} but index has {index.numel()} entries (one per edge)")


class _Reduce(Aggregation):
    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        _check(x, index)
        return ops.scatter(x, index, dim_size, reduce=self.reduce)  # type: ignore[arg-type]


class SumAggregation(_Reduce):
    r""":math:`\sum_{j \in \mathcal{N}(i)} m_{j \to i}`."""

    reduce = "sum"


class MeanAggregation(_Reduce):
    r""":math:`\frac{1}{|\mathcal{N}(i)|} \sum_{j \in \mathcal{N}(i)} m_{j \to i}` (0 for isolated nodes)."""

    reduce = "mean"


class MaxAggregation(_Reduce):
    r"""Element-wise :math:`\max_{j \in \mathcal{N}(i)} m_{j \to i}` (0 for isolated nodes, as in PyG)."""

    reduce = "max"


class MinAggregation(_Reduce):
    r"""Element-wise :math:`\min_{j \in \mathcal{N}(i)} m_{j \to i}` (0 for isolated nodes, as in PyG)."""

    reduce = "min"


class MulAggregation(Aggregation):
    r"""Element-wise :math:`\prod_{j \in \mathcal{N}(i)} m_{j \to i}` (1 for isolated nodes, as in PyG).

    Not a kernel reduction (a product has no fused ``spmm``): the messages are formed and reduced with torch's
    ``scatter_reduce``, whose gradient handles zeros exactly.

    >>> MulAggregation()(torch.tensor([[2.0], [3.0], [4.0]]), torch.tensor([0, 0, 2]), dim_size=4).view(-1).tolist()
    [6.0, 1.0, 4.0, 1.0]
    """

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        _check(x, index)
        n = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        idx = index.long().view(-1, *([1] * (x.dim() - 1))).expand_as(x)
        return x.new_ones((n,) + tuple(x.shape[1:])).scatter_reduce(0, idx, x, "prod", include_self=True)


class VarAggregation(Aggregation):
    r""":math:`\mathrm{mean}(m^2) - \mathrm{mean}(m)^2` per node and channel (PyG's formula)."""

    def __init__(self, semi_grad: bool = False) -> None:
        super().__init__()
        self.semi_grad = semi_grad

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        _check(x, index)
        mean = ops.scatter(x, index, dim_size, reduce="mean")
        if self.semi_grad:
            with torch.no_grad():
                mean2 = ops.scatter(x * x, index, dim_size, reduce="mean")
        else:
            mean2 = ops.scatter(x * x, index, dim_size, reduce="mean")
        return mean2 - mean * mean


class StdAggregation(Aggregation):
    r""":math:`\sqrt{\mathrm{var}}`, clamped at :math:`10^{-5}` so the gradient at 0 stays defined (as in PyG)."""

    def __init__(self, semi_grad: bool = False) -> None:
        super().__init__()
        self.var_aggr = VarAggregation(semi_grad)

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        out = self.var_aggr(x, index, dim_size).clamp(min=1e-5).sqrt()
        return out.masked_fill(out <= math.sqrt(1e-5), 0.0)


class SoftmaxAggregation(Aggregation):
    r"""DeeperGCN's softmax aggregation, per channel:

    .. math:: \sum_{j} \frac{\exp(t\, m_j)}{\sum_k \exp(t\, m_k)} m_j

    ``learn=True`` makes the temperature ``t`` a parameter (``channels`` of them); ``semi_grad`` stops the
    gradient through the weights. Same arguments and parameter name as PyG's.
    """

    def __init__(self, t: float = 1.0, learn: bool = False, semi_grad: bool = False, channels: int = 1) -> None:
        super().__init__()
        if learn and semi_grad:
            raise ValueError("semi_grad=True cannot be combined with a learnable temperature (learn=True)")
        if not learn and channels != 1:
            raise ValueError(f"channels must be 1 unless learn=True, got channels={channels}")
        self._init_t, self.learn, self.semi_grad, self.channels = t, learn, semi_grad, channels
        self.t: Union[float, torch.nn.Parameter] = torch.nn.Parameter(torch.empty(channels)) if learn else t
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if isinstance(self.t, Tensor):
            self.t.data.fill_(self._init_t)

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        _check(x, index)
        n = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        t = self.t.view(-1, self.channels) if isinstance(self.t, Tensor) and self.channels != 1 else self.t
        alpha = x if (not isinstance(t, Tensor) and t == 1) else x * t
        # The softmax runs over each target's incoming edges, one "head" per channel.
        adj = torch.stack([index, index]).long()
        flat = alpha.reshape(alpha.size(0), -1)
        if self.semi_grad:
            with torch.no_grad():
                w = ops.edge_softmax(adj, flat, num_nodes=n)
        else:
            w = ops.edge_softmax(adj, flat, num_nodes=n)
        return ops.scatter(x * w.view_as(x), index, n, reduce="sum")

    def __repr__(self) -> str:
        return f"SoftmaxAggregation(learn={self.learn})"


class MultiAggregation(Aggregation):
    """Several aggregations at once, combined by ``mode`` (PyG's modes and parameter names):

    * ``"cat"`` (default): concatenated, ``len(aggrs) * F`` outputs;
    * ``"sum"``, ``"mean"``, ``"max"``, ``"min"``, ``"logsumexp"``, ``"std"``, ``"var"``: element-wise over the
      aggregations, ``F`` outputs;
    * ``"proj"``: a linear map ``lin`` of the concatenation;
    * ``"attn"``: each output projected by its own linear head (``lin_heads.lins.<k>``), then multi-head
      self-attention across the aggregations (``multihead_attn``), averaged.

    ``"proj"`` and ``"attn"`` need ``mode_kwargs`` with ``in_channels`` (an int, or one per aggregation) and
    ``out_channels``; the other ``mode_kwargs`` go to ``torch.nn.Linear`` (proj) or
    ``torch.nn.MultiheadAttention`` (attn: ``num_heads``, default 1). Fused when every part is a plain reduction
    (the combination then runs on the ``[N, F]`` outputs).

    >>> m = MultiAggregation(["sum", "max"], mode="proj", mode_kwargs=dict(in_channels=1, out_channels=3))
    >>> m(torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0, 0, 1]), dim_size=2).shape
    torch.Size([2, 3])
    """

    _DENSE = ("sum", "mean", "max", "min", "logsumexp", "std", "var")
    _MODES = ("cat", "proj", "attn") + _DENSE

    def __init__(self, aggrs: Sequence["AggrLike"], aggrs_kwargs: Optional[List[Dict[str, Any]]] = None,
                 mode: str = "cat", mode_kwargs: Optional[Dict[str, Any]] = None) -> None:
        super().__init__()
        if not isinstance(aggrs, (list, tuple)) or len(aggrs) == 0:
            raise ValueError(f"aggrs must be a non-empty list, got {aggrs!r}")
        if mode not in self._MODES:
            raise ValueError(f"mode must be one of {self._MODES}, got {mode!r}")
        kws = aggrs_kwargs or [{}] * len(aggrs)
        if len(kws) != len(aggrs):
            raise ValueError(f"aggrs_kwargs has {len(kws)} entries but aggrs has {len(aggrs)}")
        self.aggrs = torch.nn.ModuleList([aggr_resolver(a, **kw) for a, kw in zip(aggrs, kws)])
        self.mode = mode
        extra = dict(mode_kwargs or {})
        self.in_channels = extra.pop("in_channels", None)
        self.out_channels: Optional[int] = extra.pop("out_channels", None)
        if mode in ("proj", "attn"):
            self._build_combiner(mode, extra)

    def _build_combiner(self, mode: str, extra: Dict[str, Any]) -> None:
        if len(self.aggrs) < 2:
            raise ValueError(f"mode={mode!r} combines several aggregations, got {len(self.aggrs)}")
        if self.in_channels is None or self.out_channels is None:
            raise ValueError(f"mode={mode!r} needs mode_kwargs with in_channels and out_channels, got "
                             f"in_channels={self.in_channels}, out_channels={self.out_channels}")
        ins = [self.in_channels] * len(self.aggrs) if isinstance(self.in_channels, int) else list(self.in_channels)
        if len(ins) != len(self.aggrs):
            raise ValueError(f"mode_kwargs in_channels has {len(ins)} entries but there are {len(self.aggrs)} "
                             "aggregations")
        if mode == "proj":
            self.lin = torch.nn.Linear(sum(ins), self.out_channels, **extra)
            return
        heads = torch.nn.ModuleDict({str(k): torch.nn.Linear(c, self.out_channels) for k, c in enumerate(ins)})
        self.lin_heads = torch.nn.Module()  # PyG's parameter names: lin_heads.lins.<k>.weight
        self.lin_heads.lins = heads
        self.multihead_attn = torch.nn.MultiheadAttention(self.out_channels, extra.pop("num_heads", 1), **extra)

    @property
    def fusable(self) -> bool:
        return all(a.fusable for a in self.aggrs)

    def reset_parameters(self) -> None:
        for a in self.aggrs:
            a.reset_parameters()
        if self.mode == "proj":
            self.lin.reset_parameters()
        elif self.mode == "attn":
            for lin in self.lin_heads.lins.values():
                lin.reset_parameters()
            self.multihead_attn._reset_parameters()  # torch's own initialiser (no public name)

    def get_out_channels(self, in_channels: int) -> int:
        """Output width for ``in_channels`` message features (what a layer sizes its next linear map by)."""
        if self.out_channels is not None:
            return self.out_channels
        return in_channels * len(self.aggrs) if self.mode == "cat" else in_channels

    def combine(self, outs: List[Tensor]) -> Tensor:
        if len(outs) == 1:
            return outs[0]
        if self.mode == "cat":
            return torch.cat(outs, dim=-1)
        if self.mode == "proj":
            return self.lin(torch.cat(outs, dim=-1))
        if self.mode == "attn":
            x = torch.stack([self.lin_heads.lins[str(k)](o) for k, o in enumerate(outs)], dim=0)
            return self.multihead_attn(x, x, x)[0].mean(dim=0)
        stacked = torch.stack(outs, dim=0)
        if self.mode in ("max", "min"):
            return stacked.amax(0) if self.mode == "max" else stacked.amin(0)
        return getattr(torch, self.mode)(stacked, dim=0)

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        return self.combine([a(x, index, dim_size) for a in self.aggrs])

    def __repr__(self) -> str:
        return f"MultiAggregation([{', '.join(map(repr, self.aggrs))}], mode={self.mode})"


AggrLike = Union[str, Aggregation, Sequence[Any], None]

_BY_NAME = {
    "sum": SumAggregation,
    "add": SumAggregation,
    "mean": MeanAggregation,
    "max": MaxAggregation,
    "min": MinAggregation,
    "var": VarAggregation,
    "std": StdAggregation,
    "softmax": SoftmaxAggregation,
    "mul": MulAggregation,
}

#: Modules whose aggregations the resolver also knows by name (imported on first use: they import this one).
_MORE = ("aggr_degree_scaler", "aggr_power_mean", "aggr_quantile", "aggr_set", "aggr_set_transformer")


def _by_name(name: str) -> Optional[type]:
    """The aggregation class called ``name`` (PyG's rule: the class name lower-cased, without "aggregation")."""
    key = name.lower().replace("_", "").replace("aggregation", "")
    if key in _BY_NAME:
        return _BY_NAME[key]
    import importlib

    for mod in _MORE:
        module = importlib.import_module(f"graphkit.nn.{mod}")
        for cls_name in getattr(module, "__all__", ()):
            cls = getattr(module, cls_name)
            if isinstance(cls, type) and issubclass(cls, Aggregation) and \
                    cls_name.lower().replace("aggregation", "") == key:
                return cls
    return None


def is_fusable(module: torch.nn.Module) -> bool:
    """Whether ``module`` is one of our plain reductions (a foreign aggregation module never is)."""
    return bool(getattr(module, "fusable", False))


def aggr_resolver(aggr: AggrLike, **kwargs: Any) -> Aggregation:
    """An :class:`Aggregation` from a name (``"sum"``/``"add"``, ``"mean"``, ``"max"``, ``"min"``, ``"mul"``,
    ``"var"``, ``"std"``, ``"softmax"``, or any other graphkit aggregation by its class name without
    "Aggregation", lower-cased, as PyG resolves them: ``"lstm"``, ``"powermean"``, ``"median"``, ...), a module,
    or a list of those (a :class:`MultiAggregation`; ``kwargs`` then go to it: ``mode``, ``mode_kwargs``, ...).

    Another library's aggregation module (e.g. ``torch_geometric.nn.aggr.PowerMeanAggregation()``) is used as it
    is: it is called as ``module(messages, index, dim_size=...)`` and never fused.
    """
    if isinstance(aggr, Aggregation):
        return aggr
    if isinstance(aggr, torch.nn.Module):
        return aggr  # type: ignore[return-value]
    if isinstance(aggr, (list, tuple)):
        return MultiAggregation(list(aggr), **kwargs)
    if isinstance(aggr, str):
        cls = _by_name(aggr)
        if cls is None:
            raise ValueError(f"aggr must be one of {sorted(_BY_NAME)}, the name of another graphkit aggregation "
                             f"(e.g. 'lstm', 'powermean', 'median') or a list of them, got {aggr!r}")
        return cls(**kwargs)
    raise TypeError(f"aggr must be a name, an Aggregation or a list of them, got {type(aggr).__name__}")
