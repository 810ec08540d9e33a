r"""``SheafDiffusion``: one step of discrete Neural Sheaf Diffusion with a sheaf learned from the features.

.. math::
    X' = (1 + \tanh\varepsilon)\odot X
         - \sigma\!\Big(\Delta_{\mathcal{F}(X)}\,(I_N \otimes W_1)\,\mathrm{dropout}(X)\,W_2\Big)

:math:`X \in \mathbb{R}^{N d \times C}` holds a :math:`d`-dimensional stalk of :math:`C` channels per node;
:math:`W_1 \in \mathbb{R}^{d\times d}` (left weights) mixes stalk coordinates, :math:`W_2 \in \mathbb{R}^{C\times C}`
(right weights) mixes channels, :math:`\varepsilon \in \mathbb{R}^{d}` scales the residual per stalk coordinate, and
:math:`\Delta_{\mathcal{F}(X)}` is the normalised sheaf Laplacian (:mod:`graphkit.nn.sheaf.laplacian`) whose
restriction maps (and optional edge weights) the local concat learner (:mod:`graphkit.nn.sheaf.maps`) computes from
:math:`X` at every step.

Shapes:
    - input: ``x`` ``(|V|, d, C)``, ``adj`` an ``edge_index`` ``(2, |E|)`` with both directions, or a ``Graph``
    - output: ``(|V|, d, C)``
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.graph import Graph
from graphkit.nn.sheaf.laplacian import SheafLaplacian
from graphkit.nn.sheaf.maps import EdgeWeightLearner, LocalConcatSheafLearner

__all__ = ["SheafDiffusion", "laplacian_for"]


def laplacian_for(adj: Any, num_nodes: int, d: int, cache: Optional[dict] = None) -> SheafLaplacian:
    """A :class:`SheafLaplacian` for ``adj``, reused from ``cache`` while ``adj`` is the same, unmodified graph.

    The key holds the ``edge_index`` tensor itself (so its memory cannot be reused by another tensor) and its
    version counter (so an in-place edit rebuilds the structure).
    """
    ei = adj.edge_index if isinstance(adj, Graph) else adj
    if not isinstance(ei, Tensor):
        raise TypeError(f"adj must be an edge_index tensor or a graphkit.Graph, got {type(adj).__name__}")
    if cache is not None:
        hit = cache.get("lap")
        if hit is not None and hit[0] is ei and hit[1] == (ei._version, num_nodes, d):
            return hit[2]
    lap = SheafLaplacian(ei, num_nodes, d)
    if cache is not None:
        cache["lap"] = (ei, (ei._version, num_nodes, d), lap)
    return lap


class SheafDiffusion(nn.Module):
    r"""One discrete sheaf-diffusion step (see the module docstring for the formula).

    Args:
        channels: channels :math:`C` per stalk coordinate (the hidden size).
        d: stalk dimension.
        maps: ``"diagonal"``, ``"orthogonal"`` or ``"general"`` restriction maps.
        orthogonal: ``"householder"`` or ``"cayley"`` parameterisation of orthogonal maps.
        edge_weights: learn symmetric edge weights :math:`w_e \in (0, 1)` too.
        dropout: dropout on the input of the diffusion term.
        left_weights / right_weights: use :math:`W_1` / :math:`W_2` (identity otherwise).
        normalised: use :math:`D^{-1/2} L D^{-1/2}` (else :math:`L`).

    Shapes:
        - input: ``x`` ``(|V|, d, C)``, ``adj`` ``(2, |E|)`` or ``Graph``
        - output: ``(|V|, d, C)``
    """

    def __init__(self, channels: int, d: int, maps: str = "diagonal", orthogonal: str = "householder",
                 edge_weights: bool = False, dropout: float = 0.0, left_weights: bool = True,
                 right_weights: bool = True, normalised: bool = True) -> None:
        super().__init__()
        self.channels, self.d, self.maps, self.dropout, self.normalised = channels, d, maps, dropout, normalised
        self.learner = LocalConcatSheafLearner(d * channels, d, maps, orthogonal)
        self.weight_learner = EdgeWeightLearner(d * channels) if edge_weights else None
        self.left = nn.Parameter(torch.empty(d, d)) if left_weights else None
        self.right = nn.Linear(channels, channels, bias=False) if right_weights else None
        self.epsilon = nn.Parameter(torch.zeros(d, 1))
        self._cache: dict = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.learner.lin.reset_parameters()
        if self.weight_learner is not None:
            self.weight_learner.lin.reset_parameters()
        if self.left is not None:
            # Identity start: the first steps diffuse like the plain sheaf Laplacian.
            nn.init.eye_(self.left)
        if self.right is not None:
            nn.init.orthogonal_(self.right.weight)
        nn.init.zeros_(self.epsilon)

    def forward(self, x: Tensor, adj: Any) -> Tensor:
        if x.dim() != 3 or x.size(1) != self.d or x.size(2) != self.channels:
            raise ValueError(f"x must have shape [N, {self.d}, {self.channels}], got {list(x.shape)}")
        n = x.size(0)
        lap = laplacian_for(adj, n, self.d, self._cache)
        flat = x.reshape(n, -1)
        maps = self.learner(flat, lap.edge_index)
        weight = self.weight_learner(flat, lap.edge_index, lap.rev) if self.weight_learner is not None else None
        h = F.dropout(x, p=self.dropout, training=self.training)
        if self.left is not None:
            h = torch.einsum("ab,nbc->nac", self.left, h)
        if self.right is not None:
            h = self.right(h)
        h = lap.apply(h, maps, weight, self.normalised, orthogonal=self.maps == "orthogonal")
        return (1 + torch.tanh(self.epsilon)) * x - F.elu(h)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, d={self.d}, maps={self.maps!r}"
