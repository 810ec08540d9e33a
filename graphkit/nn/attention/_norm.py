"""Normalisation and activation by name, with PyG's parameter layout (so GPSConv loads PyG's state_dict)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import Tensor

__all__ = ["GraphBatchNorm", "GraphLayerNorm", "resolve_norm", "resolve_act"]


class GraphBatchNorm(torch.nn.Module):
    """``BatchNorm1d`` over nodes, wrapped as ``.module`` like ``torch_geometric.nn.norm.BatchNorm``.

    Shapes: x ``(N, C)`` -> ``(N, C)``.
    """

    def __init__(self, in_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.module = torch.nn.BatchNorm1d(in_channels, **kwargs)

    def reset_parameters(self) -> None:
        self.module.reset_parameters()

    def forward(self, x: Tensor, batch: Optional[Tensor] = None) -> Tensor:
        return self.module(x)


class GraphLayerNorm(torch.nn.Module):
    r"""Per-graph layer norm over all nodes and channels of each graph (PyG's ``LayerNorm(mode="graph")``).

    .. math:: y = \frac{x - \mu_g}{\sqrt{\sigma_g^2 + \epsilon}} \odot \gamma + \beta, \quad
              \mu_g, \sigma_g^2 \text{ over the } N_g \times C \text{ entries of graph } g

    Shapes: x ``(N, C)``, batch ``(N,)`` -> ``(N, C)``.
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(in_channels)) if affine else None
        self.bias = torch.nn.Parameter(torch.zeros(in_channels)) if affine else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            torch.nn.init.ones_(self.weight)
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, batch: Optional[Tensor] = None) -> Tensor:
        if batch is None:
            x = x - x.mean()
            out = x / (x.std(unbiased=False) + self.eps)
        else:
            size = int(batch.max()) + 1 if batch.numel() else 0
            count = torch.bincount(batch, minlength=size).to(x.dtype).clamp(min=1).mul(x.size(-1)).view(-1, 1)
            mean = x.new_zeros(size, x.size(1)).index_add_(0, batch, x).sum(-1, keepdim=True) / count
            x = x - mean.index_select(0, batch)
            var = x.new_zeros(size, x.size(1)).index_add_(0, batch, x * x).sum(-1, keepdim=True) / count
            out = x / (var + self.eps).sqrt().index_select(0, batch)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out


_NORMS: Dict[str, Any] = {"batch_norm": GraphBatchNorm, "batchnorm": GraphBatchNorm,
                          "layer_norm": GraphLayerNorm, "layernorm": GraphLayerNorm}


def resolve_norm(name: Optional[str], channels: int, **kwargs: Any) -> Optional[torch.nn.Module]:
    if name is None:
        return None
    if name.lower() not in _NORMS:
        raise ValueError(f"norm must be one of {sorted(_NORMS)} or None, got {name!r}")
    return _NORMS[name.lower()](channels, **kwargs)


def resolve_act(name: str, **kwargs: Any) -> torch.nn.Module:
    """``"relu"``, ``"gelu"``, ``"leaky_relu"``, ... -> the ``torch.nn`` module of that name."""
    wanted = name.lower().replace("_", "")
    for attr in dir(torch.nn):
        cls = getattr(torch.nn, attr)
        if attr.lower() == wanted and isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            return cls(**kwargs)
    raise ValueError(f"act {name!r} names no activation in torch.nn")
