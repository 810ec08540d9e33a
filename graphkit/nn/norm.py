r"""Normalisation layers by name, with PyG's parameter layout, and the activation resolver.

One home for both families the layers use: :class:`BatchNorm` (``torch.nn.BatchNorm1d`` over nodes, stored as
``.module`` like ``torch_geometric.nn.norm.BatchNorm``) and :class:`LayerNorm` (PyG's graph-wise
``LayerNorm(mode="graph")``), so that ``BasicGNN``, ``MLP`` and ``GPSConv`` load PyG's ``state_dict`` unchanged.
Every norm here is called as ``norm(x, batch=None, batch_size=None)``.

>>> import torch
>>> normalization_resolver("layer_norm", 3)(torch.arange(6.0).view(2, 3)).mean().abs().item() < 1e-6
True
>>> type(activation_resolver("gelu")).__name__
'GELU'
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch
from torch import Tensor

from graphkit import ops

__all__ = ["BatchNorm", "LayerNorm", "normalization_resolver", "activation_resolver", "takes_batch"]


class BatchNorm(torch.nn.Module):
    """``BatchNorm1d`` over nodes under the name PyG uses (``module``), so state_dicts line up.

    Shapes: x ``(N, C)`` -> ``(N, C)`` (``batch`` is accepted and ignored: statistics run over all nodes).
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.module = torch.nn.BatchNorm1d(in_channels, eps, momentum, affine, track_running_stats)

    def reset_parameters(self) -> None:
        self.module.reset_parameters()

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        return self.module(x)


class LayerNorm(torch.nn.Module):
    r"""PyG's graph-wise layer norm: each graph's nodes and channels together,

    .. math:: y = \frac{x - \mu_g}{\sqrt{\sigma_g^2 + \epsilon}} \odot \gamma + \beta, \quad
              \mu_g, \sigma_g^2 \text{ over the } N_g \times C \text{ entries of graph } g

    (without ``batch``, all nodes form one graph).

    Shapes: x ``(N, C)``, batch ``(N,)`` -> ``(N, C)``; ``batch_size``: the number of graphs (else
    ``batch.max() + 1``).
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.in_channels, self.eps = in_channels, eps
        self.weight = torch.nn.Parameter(torch.ones(in_channels)) if affine else None
        self.bias = torch.nn.Parameter(torch.zeros(in_channels)) if affine else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            torch.nn.init.ones_(self.weight)
            torch.nn.init.zeros_(self.bias)  # type: ignore[arg-type]

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        if batch is None:
            x = x - x.mean()
            out = x / (x.std(unbiased=False) + self.eps)
        else:
            b = batch_size if batch_size is not None else (int(batch.max()) + 1 if batch.numel() else 0)
            norm = torch.bincount(batch, minlength=b).clamp(min=1).to(x.dtype).mul_(x.size(-1)).view(-1, 1)
            mean = ops.scatter(x, batch, b, reduce="sum").sum(dim=-1, keepdim=True) / norm
            x = x - mean.index_select(0, batch)
            var = ops.scatter(x * x, batch, b, reduce="sum").sum(dim=-1, keepdim=True) / norm
            out = x / (var + self.eps).sqrt().index_select(0, batch)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out


def takes_batch(module: torch.nn.Module) -> bool:
    """Whether ``module`` is one of the norms here (called with ``batch``), not e.g. ``torch.nn.Identity``."""
    return isinstance(module, (BatchNorm, LayerNorm))


def normalization_resolver(norm: Union[str, torch.nn.Module, None], channels: int, **kwargs: Any
                           ) -> Optional[torch.nn.Module]:
    """``"batch_norm"``/``"batchnorm"``/``"batch"``, ``"layer_norm"``/... -> the norm; a module or ``None``
    passes through."""
    if norm is None or isinstance(norm, torch.nn.Module):
        return norm
    name = str(norm).lower().replace("_", "").replace("norm", "")
    if name == "batch":
        return BatchNorm(channels, **kwargs)
    if name == "layer":
        return LayerNorm(channels, **kwargs)
    raise ValueError(f"norm must be 'batch_norm', 'layer_norm', a module or None, got {norm!r}")


def activation_resolver(act: Union[str, Callable, None], **kwargs: Any) -> Optional[Callable]:
    """A callable or ``None`` passes through; a name (``"relu"``, ``"leaky_relu"``, ``"swish"``, any
    ``torch.nn`` activation, case and underscores ignored) becomes that ``torch.nn`` module."""
    if act is None or callable(act):
        return act  # type: ignore[return-value]
    wanted = str(act).lower().replace("_", "")
    wanted = {"swish": "silu"}.get(wanted, wanted)
    for attr in dir(torch.nn.modules.activation):
        cls = getattr(torch.nn.modules.activation, attr)
        if attr.lower() == wanted and isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            return cls(**kwargs)
    raise ValueError(f"act {act!r} names no activation in torch.nn, and is not a callable or None")
