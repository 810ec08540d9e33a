r"""``PowerMeanAggregation`` (Li et al., "DeeperGCN: All You Need to Train Deeper GCNs")."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.nn.aggr import Aggregation

__all__ = ["PowerMeanAggregation"]


class PowerMeanAggregation(Aggregation):
    r"""The power mean of the messages, per channel:

    .. math::
        \mathrm{powermean}(\mathcal{X} \mid p) = \Big(\frac{1}{|\mathcal{X}|} \sum_{\mathbf{x} \in \mathcal{X}}
        \mathbf{x}^{p}\Big)^{1/p}

    with inputs and the mean clamped to ``[clamp_min, clamp_max]`` before the powers (unless ``p == 1``, a plain
    mean), as PyG does. ``learn`` makes ``p`` a parameter (``channels`` of them). The mean runs on graphkit's
    scatter kernel; :meth:`powered` and :meth:`root` let a layer whose messages are per-node values fuse it
    into an ``spmm``.

    Shapes:
        messages ``(|E|, F)``, index ``(|E|)`` -> ``(|V|, F)``.

    >>> PowerMeanAggregation(p=2.0)(torch.tensor([[3.0], [4.0]]), torch.tensor([0, 0])).mul(1e4).round().tolist()
    [[35355.0]]
    """

    def __init__(self, p: float = 1.0, learn: bool = False, channels: int = 1, clamp_min: Optional[float] = 1e-4,
                 clamp_max: Optional[float] = 100.0) -> None:
        super().__init__()
        if not learn and channels != 1:
            raise ValueError(f"channels must be 1 unless learn=True, got channels={channels}")
        self._init_p, self.learn, self.channels = p, learn, channels
        self.clamp_min, self.clamp_max = clamp_min, clamp_max
        self.p: Union[float, torch.nn.Parameter] = torch.nn.Parameter(torch.empty(channels)) if learn else p
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if isinstance(self.p, Tensor):
            with torch.no_grad():
                self.p.fill_(self._init_p)

    def _p(self) -> Union[float, Tensor]:
        return self.p.view(-1, self.channels) if isinstance(self.p, Tensor) and self.channels != 1 else self.p

    def _plain(self) -> bool:
        return not isinstance(self.p, Tensor) and self.p == 1

    def powered(self, x: Tensor) -> Tensor:
        """The clamped inputs raised to ``p`` (what is averaged)."""
        return x if self._plain() else x.clamp(min=self.clamp_min, max=self.clamp_max).pow(self._p())

    def root(self, mean: Tensor) -> Tensor:
        """The clamped mean raised to ``1 / p``."""
        return mean if self._plain() else mean.clamp(min=self.clamp_min, max=self.clamp_max).pow(1.0 / self._p())

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        if x.dim() == 0 or x.size(0) != index.numel():
            raise ValueError(f"messages have shape {list(x.shape)} but index has {index.numel()} entries")
        return self.root(ops.scatter(self.powered(x), index, dim_size, reduce="mean"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn={self.learn})"
