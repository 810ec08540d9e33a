r"""Norms and activations by name, so ``BasicGNN``, ``MLP`` and ``GPSConv`` take PyG's ``norm="batch_norm"``,
``act="relu"`` arguments and load PyG's ``state_dict`` unchanged. Every norm they build is called as
``norm(x, batch=None, batch_size=None)``.

>>> import torch
>>> normalization_resolver("layer_norm", 3)(torch.arange(6.0).view(2, 3)).mean().abs().item() < 1e-6
True
>>> type(activation_resolver("gelu")).__name__
'GELU'
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch

from graphkit.nn.normalization.batch_norm import BatchNorm
from graphkit.nn.normalization.layer_norm import LayerNorm

__all__ = ["normalization_resolver", "activation_resolver", "takes_batch"]


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
