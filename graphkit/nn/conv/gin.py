r"""GINConv (Xu et al., "How Powerful are Graph Neural Networks?")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.conv._utils import as_pair
from graphkit.nn.inits import reset
from graphkit.nn.message_passing import MessagePassing

__all__ = ["GINConv", "register_eps"]


def register_eps(module: torch.nn.Module, eps: float, train_eps: bool) -> None:
    """``eps`` as PyG keeps it: a parameter when trained, else a buffer (both are in the state_dict)."""
    module.initial_eps = eps  # type: ignore[assignment]
    if train_eps:
        module.eps = torch.nn.Parameter(torch.full((1,), float(eps)))  # type: ignore[assignment]
    else:
        module.register_buffer("eps", torch.full((1,), float(eps)))


class GINConv(MessagePassing):
    r"""Graph isomorphism operator:

    .. math::
        \mathbf{x}'_i = h_{\mathbf{\Theta}}\Big((1 + \epsilon)\, \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)}
        \mathbf{x}_j\Big)

    with :math:`h_\Theta` the module ``nn``. The neighbour sum is the fused ``spmm``. Arguments and parameters
    (``nn.*``, ``eps``) as PyG's.

    Shapes:
        x ``(|V|, F_in)`` or a bipartite pair -> ``(|V_t|, F_out)``.
    """

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.nn = nn
        register_eps(self, eps, train_eps)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], adj: Any, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        out = self.propagate(adj, x=(x_src, x_dst), size=size)
        if x_dst is not None:
            out = out + (1 + self.eps) * x_dst
        return self.nn(out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"
