"""``Linear``: a dense layer with PyG's parameter names (``weight``, ``bias``), PyG's initialiser choices and a
lazy input size (``in_channels=-1``: the width is read from the first input, or from a loaded state_dict)."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter, is_lazy

from graphkit.nn.inits import glorot, zeros

__all__ = ["Linear", "direct_weights"]

_WEIGHT_INITS = (None, "glorot", "uniform", "kaiming_uniform")
_BIAS_INITS = (None, "zeros")


def direct_weights(*modules: torch.nn.Module) -> bool:
    """Whether a layer may use these linear modules' ``weight`` directly (in a fused or in-place product) instead of
    calling them: only when calling them would do nothing more than ``F.linear``.

    A hook (the module's own or a global one: ``torch.nn.utils.prune`` recomputes ``weight`` in a pre-hook; a
    forward hook may keep the output that an in-place product would then overwrite) or a subclass with its own
    ``forward`` needs the call itself.

    >>> lin = Linear(2, 2)
    >>> direct_weights(lin)
    True
    >>> _ = lin.register_forward_hook(lambda module, inputs, output: None)
    >>> direct_weights(lin)
    False
    """
    if torch.nn.modules.module._global_forward_hooks or torch.nn.modules.module._global_forward_pre_hooks:
        return False
    return all(
        type(m) in (Linear, torch.nn.Linear) and not m._forward_hooks and not m._forward_pre_hooks for m in modules
    )


class Linear(torch.nn.Module):
    r""":math:`\mathbf{x}' = \mathbf{x}\mathbf{W}^\top + \mathbf{b}`, like ``torch.nn.Linear``.

    ``weight_initializer``: ``None``/``"kaiming_uniform"`` (torch's default), ``"glorot"`` or ``"uniform"``
    (:math:`U(\pm 1/\sqrt{F_{in}})`); ``bias_initializer``: ``None`` (torch's default) or ``"zeros"``.

    Shapes:
        x ``(*, F_in)`` -> ``(*, F_out)``.

    >>> lin = Linear(-1, 2)
    >>> lin(torch.randn(5, 3)).shape, lin.in_channels
    (torch.Size([5, 2]), 3)
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 weight_initializer: Optional[str] = None, bias_initializer: Optional[str] = None) -> None:
        super().__init__()
        if weight_initializer not in _WEIGHT_INITS:
            raise ValueError(f"weight_initializer must be one of {_WEIGHT_INITS}, got {weight_initializer!r}")
        if bias_initializer not in _BIAS_INITS:
            raise ValueError(f"bias_initializer must be one of {_BIAS_INITS}, got {bias_initializer!r}")
        if in_channels == 0 or in_channels < -1 or out_channels < 1:
            raise ValueError(f"in_channels must be positive or -1 and out_channels positive, got "
                             f"{in_channels}, {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight_initializer, self.bias_initializer = weight_initializer, bias_initializer
        if in_channels > 0:
            self.weight: Any = torch.nn.Parameter(torch.empty(out_channels, in_channels))
        else:
            self.weight = UninitializedParameter()
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self._register_load_state_dict_pre_hook(self._materialize_from_state)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if is_lazy(self.weight):
            return  # initialised when the input width is known
        fan_in = self.weight.size(1)
        with torch.no_grad():
            if self.weight_initializer == "glorot":
                glorot(self.weight)
            elif self.weight_initializer == "uniform":
                bound = 1.0 / math.sqrt(fan_in)
                self.weight.uniform_(-bound, bound)
            else:
                torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                if self.bias_initializer == "zeros":
                    zeros(self.bias)
                else:
                    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    self.bias.uniform_(-bound, bound)

    def _materialize(self, in_channels: int, dtype: torch.dtype, device: torch.device) -> None:
        self.weight.materialize((self.out_channels, in_channels), dtype=dtype, device=device)
        self.in_channels = in_channels
        self.reset_parameters()

    def _materialize_from_state(self, state_dict: Any, prefix: str, *args: Any) -> None:
        weight = state_dict.get(prefix + "weight")
        if weight is not None and is_lazy(self.weight):
            self._materialize(weight.size(-1), weight.dtype, weight.device)

    def forward(self, x: Tensor) -> Tensor:
        if is_lazy(self.weight):
            with torch.no_grad():
                self._materialize(x.size(-1), x.dtype, x.device)
        return F.linear(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, bias={self.bias is not None})"
