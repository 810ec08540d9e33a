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

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.sheaf.laplacian import SheafLaplacian
from graphkit.nn.sheaf.maps import EdgeWeightLearner, LocalConcatSheafLearner

__all__ = ["SheafDiffusion"]


class SheafDiffusion(MessagePassing):
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

    The sheaf structure of a graph (edges without self-loops, each edge's reverse, the block index maps) is
    built once per structure and memoised on it (:meth:`laplacian`, through the structure's
    :meth:`~graphkit.ops.Adjacency.derived`), for a ``Graph`` and for a bare ``edge_index`` alike. The diffusion itself is a
    message pass with ``d x d`` matrix weights: ``propagate`` over the stalk-space graph
    (:meth:`SheafLaplacian.block_structure`, one scalar edge per block entry) with the block entries as
    ``edge_weight``, which the base class fuses into one weighted ``spmm`` (``fuse=False`` builds the messages).

    Shapes:
        - input: ``x`` ``(|V|, d, C)``, ``adj`` ``(2, |E|)`` or ``Graph``
        - output: ``(|V|, d, C)``
    """

    fused_weight = "edge_weight"

    def __init__(self, channels: int, d: int, maps: str = "diagonal", orthogonal: str = "householder",
                 edge_weights: bool = False, dropout: float = 0.0, left_weights: bool = True,
                 right_weights: bool = True, normalised: bool = True) -> None:
        super().__init__(aggr="sum")
        self.channels, self.d, self.maps, self.dropout, self.normalised = channels, d, maps, dropout, normalised
        self.learner = LocalConcatSheafLearner(d * channels, d, maps, orthogonal)
        self.weight_learner = EdgeWeightLearner(d * channels) if edge_weights else None
        self.left = nn.Parameter(torch.empty(d, d)) if left_weights else None
        self.right = nn.Linear(channels, channels, bias=False) if right_weights else None
        self.epsilon = nn.Parameter(torch.zeros(d, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
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
        lap = self.laplacian(adj, n)
        flat = x.reshape(n, -1)
        maps = self.learner(flat, lap.edge_index)
        weight = self.weight_learner(flat, lap.edge_index, lap.rev) if self.weight_learner is not None else None
        h = F.dropout(x, p=self.dropout, training=self.training)
        if self.left is not None:
            h = torch.einsum("ab,nbc->nac", self.left, h)
        if self.right is not None:
            h = self.right(h)
        off, diag = lap.blocks(maps, weight, self.normalised, orthogonal=self.maps == "orthogonal")
        blocks = torch.cat([off, diag]).reshape(-1)  # one weight per edge of the stalk-space graph
        h = self.propagate(lap.block_structure(maps.dim() == 2), x=h.reshape(n * self.d, -1), edge_weight=blocks)
        return (1 + torch.tanh(self.epsilon)) * x - F.elu(h.view(n, self.d, -1))

    def laplacian(self, adj: Any, num_nodes: int) -> SheafLaplacian:
        """The :class:`SheafLaplacian` of ``adj`` (memoised on a Graph, rebuilt when its edges change)."""
        A = self.adjacency(adj, size=(num_nodes, num_nodes))
        return A.derived(("nn.sheaf.laplacian", self.d), lambda: SheafLaplacian(A.edge_index, A.num_dst, self.d))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, d={self.d}, maps={self.maps!r}"
