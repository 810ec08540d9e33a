r"""DAGNNConv (Liu et al., "Towards Deeper Graph Neural Networks"): adaptive depth propagation."""
from __future__ import annotations

import torch
from torch import Tensor
from typing import Any, Optional

from graphkit.nn.conv.gcn import gcn_norm, propagate_with_loops
from graphkit.nn.message_passing import MessagePassing

__all__ = ["DAGNNConv"]


class DAGNNConv(MessagePassing):
    r"""Propagate K times, then let every node weigh its own receptive fields:

    .. math::
        \mathbf{H}_\ell = \hat{\mathbf{A}}^\ell \mathbf{X} \ (\ell = 0..K), \quad
        \mathbf{s}_{i,\ell} = \sigma(\mathbf{H}_{\ell,i} \mathbf{s}), \quad
        \mathbf{x}'_i = \sum_{\ell=0}^{K} s_{i,\ell}\, \mathbf{H}_{\ell,i}

    with :math:`\hat A = \hat D^{-1/2} (A + I) \hat D^{-1/2}` and one learnable projection
    :math:`\mathbf{s} \in \mathbb{R}^{F \times 1}` (parameter ``s``, as in DGL's ``DAGNNConv``, initialised with
    Xavier uniform at the sigmoid gain). PyG has no DAGNN layer; DGL's is the reference (it expects self-loops
    already in the graph; ``add_self_loops=True`` adds them here).

    Shapes:
        x ``(|V|, F)``, edge_weight ``(|E|)`` optional -> ``(|V|, F)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, K: int, add_self_loops: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.K, self.add_self_loops = in_channels, K, add_self_loops
        self.s = torch.nn.Parameter(torch.empty(in_channels, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        torch.nn.init.xavier_uniform_(self.s, gain=torch.nn.init.calculate_gain("sigmoid"))

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        adj_, w, loop = gcn_norm(self.adjacency(adj, x=x), edge_weight, False, self.add_self_loops, x.dtype)
        hs = [x]
        for _ in range(self.K):
            x = propagate_with_loops(self, adj_, x, w, loop)
            hs.append(x)
        h = torch.stack(hs, dim=1)  # [N, K+1, F]
        score = torch.sigmoid(h @ self.s)  # [N, K+1, 1]
        return (score.transpose(1, 2) @ h).squeeze(1)

    def __repr__(self) -> str:
        return f"DAGNNConv({self.in_channels}, K={self.K})"
