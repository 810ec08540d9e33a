"""Small pieces several convolutions share: pair handling and PyG's ``in_channels`` conventions."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from torch import Tensor

__all__ = ["as_pair", "pair_channels", "nn_in_features"]


def as_pair(x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]]) -> Tuple[Tensor, Optional[Tensor]]:
    """``x`` -> ``(x, x)``; a pair ``(x_src, x_dst)`` stays as it is (``x_dst`` may be ``None``)."""
    if isinstance(x, Tensor):
        return x, x
    if isinstance(x, (tuple, list)) and len(x) == 2:
        return x[0], x[1]
    raise TypeError(f"x must be a tensor or a pair (x_src, x_dst), got {type(x).__name__}")


def pair_channels(in_channels: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(in_channels, int):
        return in_channels, in_channels
    return int(in_channels[0]), int(in_channels[1])


def nn_in_features(module: Any) -> Optional[int]:
    """Input width of an MLP-like module (a Linear, a Sequential starting with one, or a PyG/graphkit MLP)."""
    for attr in ("in_features", "in_channels"):
        if isinstance(getattr(module, attr, None), int):
            return getattr(module, attr)
    first = next(iter(module.children()), None) if hasattr(module, "children") else None
    if first is None:
        return None
    if hasattr(first, "__getitem__") and not hasattr(first, "in_features"):
        first = first[0]
    return nn_in_features(first)
