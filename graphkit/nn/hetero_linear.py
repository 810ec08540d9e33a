"""``HeteroDictLinear``: one ``Linear`` per node type, applied to a ``{type: x}`` dict (PyG's name and state)."""
from __future__ import annotations

from typing import Dict, Iterable, Mapping, Union

import torch
from torch import Tensor

from graphkit.nn.module_dict import TypedModuleDict

__all__ = ["HeteroDictLinear"]


class HeteroDictLinear(torch.nn.Module):
    r"""Per node type :math:`t`: :math:`\mathbf{x}'_t = \mathbf{x}_t \mathbf{W}_t^\top + \mathbf{b}_t`.

    Parameters are ``lins.<type>.weight`` / ``.bias`` as in PyG's ``HeteroDictLinear``; types absent from the
    input are absent from the output, and an input type without a ``Linear`` raises ``ValueError``.

    Args:
        in_channels: ``{type: F_in}``, or one ``F_in`` for every type in ``types``.
        out_channels: ``F_out``. types: the node types (needed when ``in_channels`` is an int). bias: learn
            :math:`\mathbf{b}_t`.

    Shapes:
        ``{t: (N_t, F_in_t)}`` -> ``{t: (N_t, F_out)}``.

    >>> lin = HeteroDictLinear({"a": 3, "b": 2}, 4)
    >>> {k: tuple(v.shape) for k, v in lin({"a": torch.randn(5, 3), "b": torch.randn(1, 2)}).items()}
    {'a': (5, 4), 'b': (1, 4)}
    """

    def __init__(self, in_channels: Union[int, Mapping[str, int]], out_channels: int,
                 types: Iterable[str] = (), bias: bool = True) -> None:
        super().__init__()
        if not isinstance(in_channels, Mapping):
            in_channels = {t: in_channels for t in types}
        if not in_channels:
            raise ValueError("HeteroDictLinear needs at least one type (pass in_channels as a dict, or types)")
        self.in_channels, self.out_channels = dict(in_channels), out_channels
        self.lins = TypedModuleDict({t: torch.nn.Linear(f, out_channels, bias=bias) for t, f in in_channels.items()})

    def reset_parameters(self) -> None:
        for lin in self.lins.values():
            lin.reset_parameters()

    def forward(self, x_dict: Mapping[str, Tensor]) -> Dict[str, Tensor]:
        out = {}
        for t, x in x_dict.items():
            if t not in self.lins:
                raise ValueError(f"HeteroDictLinear has no weights for node type {t!r} (it has "
                                 f"{sorted(self.in_channels)})")
            out[t] = self.lins[t](x)
        return out
