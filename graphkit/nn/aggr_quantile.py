r"""``QuantileAggregation`` and ``MedianAggregation``: order statistics of each node's incoming messages."""
from __future__ import annotations

from typing import List, Optional, Union

import torch
from torch import Tensor

from graphkit.nn.aggr import Aggregation

__all__ = ["QuantileAggregation", "MedianAggregation"]

INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _group_sorted(x: Tensor, index: Tensor) -> Tensor:
    """``x`` ``[E, C]`` reordered, column by column, so that rows are grouped by ``index`` and ascending within a
    group (sort by value, then a stable sort by group keeps the value order inside each group)."""
    values, order = torch.sort(x, dim=0)
    groups = index.view(-1, 1).expand_as(x).gather(0, order)
    _, by_group = torch.sort(groups, dim=0, stable=True)
    return values.gather(0, by_group)


class QuantileAggregation(Aggregation):
    r"""The ``q``-quantile(s) of the messages of each node, per channel:

    .. math::
        \mathrm{Q}_q(\mathcal{X}) = x_{(\lfloor p \rfloor)} + (p - \lfloor p \rfloor)\,
        (x_{(\lceil p \rceil)} - x_{(\lfloor p \rfloor)}), \qquad p = q\,(|\mathcal{X}| - 1)

    for ``interpolation="linear"``, with :math:`x_{(k)}` the order statistics (``"lower"``, ``"higher"``,
    ``"nearest"``, ``"midpoint"`` as in ``numpy.quantile``). A node without messages gets ``fill_value``. Several
    quantiles are concatenated along the channels, as PyG does.

    Shapes:
        messages ``(|E|, F)``, index ``(|E|)`` -> ``(|V|, len(q) F)``.

    >>> aggr = QuantileAggregation([0.25, 0.5])
    >>> aggr(torch.tensor([[1.0], [2.0], [3.0], [4.0], [7.0]]), torch.tensor([0, 0, 0, 0, 2])).tolist()
    [[1.75, 2.5], [0.0, 0.0], [7.0, 7.0]]
    """

    def __init__(self, q: Union[float, List[float]], interpolation: str = "linear", fill_value: float = 0.0) -> None:
        super().__init__()
        qs = list(q) if isinstance(q, (list, tuple)) else [q]
        if not qs or not all(0.0 <= v <= 1.0 for v in qs):
            raise ValueError(f"q must be one or more quantiles in [0, 1], got {q!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        self._q, self.interpolation, self.fill_value = q, interpolation, fill_value
        self.register_buffer("q", torch.tensor(qs).view(-1, 1))

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        if x.dim() == 0 or x.size(0) != index.numel():
            raise ValueError(f"messages have shape {list(x.shape)} but index has {index.numel()} entries")
        n = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        rest = tuple(x.shape[1:])
        flat = x.reshape(x.size(0), -1)
        count = torch.bincount(index, minlength=n)[:n] if index.numel() else index.new_zeros(n)
        start = torch.cumsum(count, 0) - count
        if flat.size(0) == 0:
            out = flat.new_full((n, self.q.numel(), flat.size(1)), self.fill_value)
            return out.view((n, -1) + rest[1:]) if rest else out.view(n, -1)
        ordered = _group_sorted(flat, index)
        # Fractional position of every (node, quantile) in the grouped order: [N, Q].
        pos = start.view(-1, 1).to(self.q.dtype) + self.q.t() * (count.view(-1, 1) - 1).to(self.q.dtype)
        last = flat.size(0) - 1
        lo = pos.floor().long().clamp(0, last)
        hi = pos.ceil().long().clamp(0, last)
        if self.interpolation == "lower":
            out = ordered[lo.view(-1)]
        elif self.interpolation == "higher":
            out = ordered[hi.view(-1)]
        elif self.interpolation == "nearest":
            out = ordered[pos.round().long().clamp(0, last).view(-1)]
        else:
            left, right = ordered[lo.view(-1)], ordered[hi.view(-1)]
            if self.interpolation == "midpoint":
                out = 0.5 * left + 0.5 * right
            else:
                frac = (pos - pos.floor()).view(-1, 1).to(flat.dtype)
                out = left + (right - left) * frac
        empty = (count == 0).repeat_interleave(self.q.numel()).view(-1, 1)
        out = out.masked_fill(empty, self.fill_value).view(n, self.q.numel(), -1)
        return out.reshape((n, -1) + rest[1:]) if len(rest) > 1 else out.reshape(n, -1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(q={self._q})"


class MedianAggregation(QuantileAggregation):
    r"""The (lower) median of the messages of each node, per channel: :math:`x_{(\lfloor (|\mathcal{X}| - 1) / 2
    \rfloor)}`; ``fill_value`` for a node without messages.

    Shapes:
        messages ``(|E|, F)``, index ``(|E|)`` -> ``(|V|, F)``.

    >>> MedianAggregation()(torch.tensor([[1.0], [5.0], [2.0], [9.0]]), torch.tensor([0, 0, 0, 0])).tolist()
    [[2.0]]
    """

    def __init__(self, fill_value: float = 0.0) -> None:
        super().__init__(0.5, "lower", fill_value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
