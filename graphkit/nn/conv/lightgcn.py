r"""LightGCNConv (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation")."""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from graphkit.nn.conv.gcn import gcn_norm
from graphkit.nn.message_passing import MessagePassing

__all__ = ["LightGCNConv", "LGConv"]


class LightGCNConv(MessagePassing):
    r"""Parameter-free normalised propagation (no self-loops, no weights, no non-linearity):

    .. math:: \mathbf{x}'_i = \sum_{j \in \mathcal{N}(i)} \frac{e_{j,i}}{\sqrt{\deg(i)\deg(j)}} \mathbf{x}_j

    Same as PyG's ``LGConv`` (also exported under that name). One fused ``spmm``.

    Shapes:
        x ``(|V|, F)``, edge_weight ``(|E|)`` optional -> ``(|V|, F)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, normalize: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.normalize = normalize

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        adj_ = self.adjacency(adj, x=x)
        if self.normalize:
            adj_, edge_weight, _ = gcn_norm(adj_, edge_weight, False, False, x.dtype)
        return self.propagate(adj_, x=x, edge_weight=edge_weight)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


LGConv = LightGCNConv
