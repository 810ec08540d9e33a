r"""``DegreeScalerAggregation``: PNA's degree-scaled multi-aggregation (Corso et al., "Principal Neighbourhood
Aggregation for Graph Nets").

.. math::
    \bigoplus = \underbrace{\begin{bmatrix} \mathrm{identity} \\ S(d, \alpha = 1) \\ S(d, \alpha = -1)
    \end{bmatrix}}_{\text{scalers}} \otimes \underbrace{\begin{bmatrix} \mu \\ \sigma \\ \max \\ \min
    \end{bmatrix}}_{\text{aggregators}}, \qquad S(d, \alpha) = \left(\frac{\log(d + 1)}{\delta}\right)^{\alpha},
    \quad \delta = \frac{1}{|\mathcal{T}|} \sum_{i \in \mathcal{T}} \log(d_i + 1)

with :math:`\delta` (and the linear :math:`\bar d`) taken from the training set's in-degree histogram ``deg``.
Scalers: ``"identity"``, ``"amplification"``, ``"attenuation"``, ``"linear"``, ``"inverse_linear"``. Same
arguments and buffers (``avg_deg_lin``, ``avg_deg_log``; parameters with ``train_norm``) as PyG's.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from graphkit.nn.aggr import Aggregation, MultiAggregation, aggr_resolver

__all__ = ["DegreeScalerAggregation", "SCALERS"]

SCALERS = ("identity", "amplification", "attenuation", "linear", "inverse_linear")


class DegreeScalerAggregation(Aggregation):
    """See the module docstring.

    Shapes:
        messages ``(|E|, *, F)``, index ``(|E|)`` -> ``(|V|, *, F * len(aggr) * len(scaler))``.

    >>> aggr = DegreeScalerAggregation(["mean", "max"], ["identity", "amplification"], torch.tensor([0, 2, 1]))
    >>> aggr(torch.randn(4, 3), torch.tensor([0, 0, 1, 2]), dim_size=3).shape
    torch.Size([3, 12])
    """

    def __init__(self, aggr: Union[str, List[str], Aggregation], scaler: Union[str, List[str]], deg: Tensor,
                 train_norm: bool = False, aggr_kwargs: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__()
        if isinstance(aggr, (list, tuple)):
            self.aggr: Aggregation = MultiAggregation(list(aggr), aggr_kwargs)
        else:
            self.aggr = aggr_resolver(aggr, **((aggr_kwargs or [{}])[0] if isinstance(aggr_kwargs, list)
                                               else (aggr_kwargs or {})))
        self.scaler = [scaler] if isinstance(scaler, str) else list(scaler)
        bad = [s for s in self.scaler if s not in SCALERS]
        if bad:
            raise ValueError(f"unknown scaler(s) {bad}; choose from {SCALERS}")
        if not isinstance(deg, Tensor) or deg.dim() != 1 or deg.numel() == 0:
            raise ValueError("deg must be a 1-D in-degree histogram tensor (deg[d] = number of nodes of degree d)")
        deg = deg.to(torch.float64)
        total = float(deg.sum())
        if total <= 0:
            raise ValueError("deg (the degree histogram) counts no nodes")
        bins = torch.arange(deg.numel(), dtype=torch.float64)
        self.init_avg_deg_lin = float((bins * deg).sum()) / total
        self.init_avg_deg_log = float(((bins + 1).log() * deg).sum()) / total
        if train_norm:
            self.avg_deg_lin = torch.nn.Parameter(torch.empty(1))
            self.avg_deg_log = torch.nn.Parameter(torch.empty(1))
        else:
            self.register_buffer("avg_deg_lin", torch.empty(1))
            self.register_buffer("avg_deg_log", torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.aggr.reset_parameters()
        with torch.no_grad():
            self.avg_deg_lin.fill_(self.init_avg_deg_lin)
            self.avg_deg_log.fill_(self.init_avg_deg_log)

    def scale(self, out: Tensor, deg: Tensor) -> Tensor:
        """Apply every scaler to the aggregated ``out`` ``[N, *]`` given in-degrees ``deg`` ``[N]``; concatenate."""
        d = deg.to(out.dtype).clamp(min=1).view(-1, *([1] * (out.dim() - 1)))
        outs: List[Tensor] = []
        for s in self.scaler:
            if s == "identity":
                outs.append(out)
            elif s == "amplification":
                outs.append(out * (torch.log(d + 1) / self.avg_deg_log))
            elif s == "attenuation":
                outs.append(out * (self.avg_deg_log / torch.log(d + 1)))
            elif s == "linear":
                outs.append(out * (d / self.avg_deg_lin))
            else:
                outs.append(out * (self.avg_deg_lin / d))
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        n = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        out = self.aggr(x, index, n)
        return self.scale(out, torch.bincount(index, minlength=n))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.aggr!r}, scaler={self.scaler})"


def aggregator_names(aggr: Aggregation) -> Optional[Sequence[str]]:
    """The plain names (``"sum"``, ``"mean"``, ...) of a (multi-)aggregation's parts, or ``None`` if any part is
    something else (then no closed form applies)."""
    parts = list(aggr.aggrs) if isinstance(aggr, MultiAggregation) else [aggr]
    if isinstance(aggr, MultiAggregation) and aggr.mode != "cat":
        return None
    names = []
    for p in parts:
        name = type(p).__name__.replace("Aggregation", "").lower()
        if name not in ("sum", "mean", "max", "min", "var", "std") or getattr(p, "semi_grad", False):
            return None
        names.append(name)
    return names
