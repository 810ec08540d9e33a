"""Parameter initialisers that PyG's layers use, so a fresh graphkit layer starts from the same distribution."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor

__all__ = ["glorot", "glorot_orthogonal", "uniform", "zeros", "reset"]


def glorot(value: Optional[Tensor]) -> None:
    """Glorot/Xavier uniform on the last two dims, in place."""
    if value is not None:
        stdv = math.sqrt(6.0 / (value.size(-2) + value.size(-1)))
        with torch.no_grad():
            value.uniform_(-stdv, stdv)


def glorot_orthogonal(value: Optional[Tensor], scale: float) -> None:
    """A random orthogonal matrix rescaled to variance :math:`\\mathrm{scale} / (F_{in} + F_{out})`, in place (the
    DimeNet initialiser)."""
    if value is not None:
        with torch.no_grad():
            torch.nn.init.orthogonal_(value)
            value.mul_(math.sqrt(scale / ((value.size(-2) + value.size(-1)) * value.var().item())))


def uniform(size: int, value: Optional[Tensor]) -> None:
    """Uniform on :math:`\\pm 1/\\sqrt{\\mathrm{size}}`, in place (PyG's ``uniform`` initialiser)."""
    if value is not None:
        bound = 1.0 / math.sqrt(size)
        with torch.no_grad():
            value.uniform_(-bound, bound)


def zeros(value: Optional[Tensor]) -> None:
    if value is not None:
        with torch.no_grad():
            value.zero_()


def reset(module: Any) -> None:
    """Call ``reset_parameters`` on ``module`` and its children that have one."""
    if module is None:
        return
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    for child in getattr(module, "children", lambda: [])():
        reset(child)
