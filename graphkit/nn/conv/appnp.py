r"""APPNP (Gasteiger et al., "Predict then Propagate: Graph Neural Networks meet Personalized PageRank")."""
from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.conv.gcn import gcn_norm, propagate_with_loops
from graphkit.nn.message_passing import MessagePassing

__all__ = ["APPNP"]


class APPNP(MessagePassing):
    r"""Personalized-PageRank propagation, K power-iteration steps:

    .. math::
        \mathbf{X}^{(0)} = \mathbf{X}, \qquad
        \mathbf{X}^{(k)} = (1 - \alpha) \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}} \hat{\mathbf{D}}^{-1/2}
        \mathbf{X}^{(k-1)} + \alpha \mathbf{X}^{(0)}

    ``dropout`` drops normalised edge weights (the self-loop weights included) in training, as PyG does. No
    parameters. Each step is one fused ``spmm``.

    Shapes:
        x ``(|V|, F)``, edge_weight ``(|E|)`` optional -> ``(|V|, F)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, K: int, alpha: float, dropout: float = 0.0, cached: bool = False,
                 add_self_loops: bool = True, normalize: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.K, self.alpha, self.dropout = K, alpha, dropout
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self._cached_norm: Optional[Any] = None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._cached_norm = None

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        norm = self._cached_norm
        if norm is None:
            adj_ = self.adjacency(adj, x=x)
            if self.normalize:
                norm = gcn_norm(adj_, edge_weight, False, self.add_self_loops, x.dtype)
            else:
                norm = (adj_, edge_weight, None)
            if self.cached:
                self._cached_norm = norm
        adj_, w, loop = norm
        h = x
        for _ in range(self.K):
            w_k, loop_k = w, loop
            if self.dropout > 0 and self.training:
                w_k = F.dropout(w, p=self.dropout) if w is not None else None
                loop_k = F.dropout(loop, p=self.dropout) if loop is not None else None
            x = propagate_with_loops(self, adj_, x, w_k, loop_k)
            x = x * (1 - self.alpha) + self.alpha * h
        return x

    def __repr__(self) -> str:
        return f"APPNP(K={self.K}, alpha={self.alpha})"
