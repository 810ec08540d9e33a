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
    """Several aggregations at once, combined by ``mode``: ``"cat"`` (PyG's default) or an element-wise
    ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` of their outputs. Fused when every part is a plain reduction."""

    _MODES = ("cat", "sum", "mean", "max", "min")

    def __init__(self, aggrs: Sequence["AggrLike"], aggrs_kwargs: Optional[List[Dict[str, Any]]] = None,
                 mode: str = "cat") -> None:
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

    @property
    def fusable(self) -> bool:
        return all(a.fusable for a in self.aggrs)

    def combine(self, outs: List[Tensor]) -> Tensor:
        if len(outs) == 1:
            return outs[0]
        if self.mode == "cat":
            return torch.cat(outs, dim=-1)
        stacked = torch.stack(outs, dim=0)
        if self.mode == "sum":
            return stacked.sum(0)
        if self.mode == "mean":
            return stacked.mean(0)
        return stacked.amax(0) if self.mode == "max" else stacked.amin(0)

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
}


def is_fusable(module: torch.nn.Module) -> bool:
    """Whether ``module`` is one of our plain reductions (a foreign aggregation module never is)."""
    return bool(getattr(module, "fusable", False))


def aggr_resolver(aggr: AggrLike, **kwargs: Any) -> Aggregation:
    """An :class:`Aggregation` from a name (``"sum"``/``"add"``, ``"mean"``, ``"max"``, ``"min"``, ``"var"``,
    ``"std"``, ``"softmax"``), a module, or a list of those (a :class:`MultiAggregation`).

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
        cls = _BY_NAME.get(aggr.lower().replace("aggregation", ""))
        if cls is None:
            raise ValueError(f"aggr must be one of {sorted(_BY_NAME)} (or a list of them), got {aggr!r}")
        return cls(**kwargs)
    raise TypeError(f"aggr must be a name, an Aggregation or a list of them, got {type(aggr).__name__}")
