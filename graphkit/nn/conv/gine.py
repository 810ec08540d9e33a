r"""GINEConv (Hu et al., "Strategies for Pre-training Graph Neural Networks"): GIN with edge features."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.conv._utils import as_pair, nn_in_features
from graphkit.nn.conv.gin import register_eps
from graphkit.nn.inits import reset
from graphkit.nn.message_passing import MessagePassing

__all__ = ["GINEConv"]


class GINEConv(MessagePassing):
    r"""GIN with edge features inside the message:

    .. math::
        \mathbf{x}'_i = h_{\mathbf{\Theta}}\Big((1 + \epsilon)\, \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)}
        \mathrm{ReLU}(\mathbf{x}_j + \mathbf{W}\mathbf{e}_{j,i})\Big)

    (:math:`\mathbf{W}` only when ``edge_dim`` is given). The ReLU makes each message depend on its edge, so this
    layer materialises the ``E x F`` messages. Arguments and parameters (``nn``, ``eps``, ``lin``) as PyG's.

    Shapes:
        x ``(|V|, F_in)``, edge_attr ``(|E|, D)`` -> ``(|V|, F_out)``.
    """

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False,
                 edge_dim: Optional[int] = None, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.nn = nn
        register_eps(self, eps, train_eps)
        if edge_dim is not None:
            in_channels = nn_in_features(nn)
            if in_channels is None:
                raise ValueError("cannot read the input width of nn; give nn an 'in_features' or 'in_channels'")
            self.lin: Optional[torch.nn.Linear] = torch.nn.Linear(edge_dim, in_channels)
        else:
            self.lin = None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        self.eps.data.fill_(self.initial_eps)
        if self.lin is not None:
            self.lin.reset_parameters()

    def forward(self, x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], adj: Any,
                edge_attr: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if edge_attr is None and hasattr(adj, "edge_attr"):
            edge_attr = adj.edge_attr
        adj = self.adjacency(adj, size, x=(x_src, x_dst))
        if edge_attr is None and adj.value is not None and adj.value.dim() == 2:
            edge_attr = adj.value  # a SparseTensor's [E, D] values are the edge features, as in PyG
        if edge_attr is None:
            raise ValueError("GINEConv needs edge_attr (pass it, use a Graph that has one, or a sparse adj_t whose "
                             "values are [E, D] edge features)")
        if self.lin is None and edge_attr.size(-1) != x_src.size(-1):
            raise ValueError(
                f"edge_attr has {edge_attr.size(-1)} features but x has {x_src.size(-1)}: set edge_dim in GINEConv"
            )
        if self.lin is not None:
            edge_attr = self.lin(edge_attr)
        out = self.propagate(adj, x=(x_src, x_dst), edge_attr=edge_attr, size=size)
        if x_dst is not None:
            out = out + (1 + self.eps) * x_dst
        return self.nn(out)

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        return F.relu(x_j + edge_attr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"
