r"""``SSWLLayer``: a node-marking subgraph layer of the SSWL class (Zhang et al., "A Complete Expressiveness
Hierarchy for Subgraph GNNs via Subgraph Weisfeiler-Lehman Tests").

With :math:`h_{u,v}` the feature of node :math:`v` in the subgraph rooted at :math:`u`,

.. math::
    h'_{u,v} = \mathrm{MLP}\Big((1+\varepsilon)\,h_{u,v} + \sum_{w \in \mathcal{N}(v)} h_{u,w}
               + \sum_{w \in \mathcal{N}(u)} h_{w,v}\Big)

The first sum is local message passing inside subgraph :math:`u` ("uL"), the second passes messages between the
copies of :math:`v` in the subgraphs rooted at :math:`u`'s neighbours ("vL"). By the SWL hierarchy the pair
{uL, vL} is SSWL, the most expressive class of subgraph GNNs built from such aggregations (strictly stronger than
DS- and DSS-GNN). Both sums are message passes with copy messages, which ``propagate`` fuses into SpMMs; the
"vL" edges come from :meth:`~graphkit.nn.subgraph.SubgraphBatch.root_adj`.

Shapes:
    - input: ``x`` ``(N_s, F_in)``, ``adj`` a :class:`~graphkit.nn.subgraph.SubgraphBatch` with a node-rooted policy
    - output: ``(N_s, F_out)``
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.subgraph.bag import SubgraphBatch

__all__ = ["SSWLLayer"]


class SSWLLayer(MessagePassing):
    """One SSWL layer (see the module docstring); ``root_adj`` may be passed when ``adj`` is a plain graph."""

    def __init__(self, in_channels: int, out_channels: int, train_eps: bool = True) -> None:
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = nn.Sequential(nn.Linear(in_channels, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels))
        self.eps = nn.Parameter(torch.zeros(1), requires_grad=train_eps)

    def forward(self, x: Tensor, adj: Any, root_adj: Optional[Any] = None) -> Tensor:
        if root_adj is None:
            if not isinstance(adj, SubgraphBatch):
                raise ValueError("SSWLLayer needs root_adj when adj is not a SubgraphBatch")
            root_adj = adj.root_adj()
        h = (1 + self.eps) * x + self.propagate(adj, x=x) + self.propagate(root_adj, x=x)
        return self.mlp(h)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for layer in (self.mlp[0], self.mlp[2]):
            layer.reset_parameters()
        nn.init.zeros_(self.eps)
