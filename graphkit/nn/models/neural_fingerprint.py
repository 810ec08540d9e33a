r"""NeuralFingerprint (Duvenaud et al., "Convolutional Networks on Graphs for Learning Molecular Fingerprints")."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.conv.mf import MFConv
from graphkit.nn.pool import global_add_pool

__all__ = ["NeuralFingerprint"]


class NeuralFingerprint(torch.nn.Module):
    r"""Differentiable circular fingerprints: per layer :math:`l`,

    .. math:: \mathbf{h}^{(l)} = \sigma(\mathrm{MFConv}(\mathbf{h}^{(l-1)})), \qquad
        \mathbf{f} = \sum_l \sum_{i \in g} \mathrm{softmax}(\mathbf{W}_l \mathbf{h}^{(l)}_i)

    Constructor and parameters (``convs``, ``lins``) as PyG's ``NeuralFingerprint``.

    Shapes:
        x ``(|V|, F_in)``, adj (a ``Batch`` gives the graph ids) -> ``(B, out_channels)``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int,
                 **kwargs: Any) -> None:
        super().__init__()
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.num_layers = out_channels, num_layers
        self.convs = torch.nn.ModuleList(
            [MFConv(in_channels if i == 0 else hidden_channels, hidden_channels, **kwargs) for i in range(num_layers)]
        )
        self.lins = torch.nn.ModuleList(
            [torch.nn.Linear(hidden_channels, out_channels, bias=False) for _ in range(num_layers)]
        )

    def reset_parameters(self) -> None:
        for m in list(self.convs) + list(self.lins):
            m.reset_parameters()

    def forward(self, x: Tensor, adj: Any, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        if batch is None and isinstance(adj, Graph):
            batch = adj if "ptr" in dir(type(adj)) else None
        outs = []
        for conv, lin in zip(self.convs, self.lins):
            x = conv(x, adj).sigmoid()
            outs.append(global_add_pool(lin(x).softmax(dim=-1), batch, batch_size))
        return torch.stack(outs).sum(0)

    def __repr__(self) -> str:
        return f"NeuralFingerprint({self.in_channels}, {self.out_channels}, num_layers={self.num_layers})"
