r"""GraphConv (Morris et al., "Weisfeiler and Leman Go Neural: Higher-order Graph Neural Networks")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.linear import Linear

__all__ = ["GraphConv"]


class GraphConv(MessagePassing):
    r"""Weighted neighbour aggregation plus a root term:

    .. math::
        \mathbf{x}'_i = \mathbf{W}_1 \mathbf{x}_i + \mathbf{W}_2 \mathrm{aggr}_{j \in \mathcal{N}(i)}
        e_{j,i} \cdot \mathbf{x}_j

    Fused (``spmm`` with the edge weights) for sum/mean/max/min. Parameters ``lin_rel`` (with bias) and
    ``lin_root`` as PyG's.

    Shapes:
        x ``(|V|, F_in)`` or a bipartite pair, edge_weight ``(|E|)`` optional -> ``(|V_t|, F_out)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, aggr: Any = "add",
                 bias: bool = True, **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        c_src, c_dst = pair_channels(in_channels)
        self.lin_rel = Linear(c_src, out_channels, bias=bias)
        self.lin_root = Linear(c_dst, out_channels, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_rel.reset_parameters()
        self.lin_root.reset_parameters()

    def forward(self, x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], adj: Any,
                edge_weight: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        out = self.lin_rel(self.propagate(adj, x=(x_src, x_dst), edge_weight=edge_weight, size=size))
        if x_dst is not None:
            out = out + self.lin_root(x_dst)
        return out
