r"""``NSD``: the discrete Neural Sheaf Diffusion model for node classification.

.. math::
    X^{(0)} = \mathrm{reshape}_{N d \times C}\big(\mathrm{elu}(\mathrm{Lin}_1(\mathrm{dropout}(X_{\mathrm{in}})))\big),
    \quad X^{(\ell+1)} = \mathrm{SheafDiffusion}_\ell(X^{(\ell)}),
    \quad Y = \mathrm{Lin}_2\big(\mathrm{reshape}_{N \times d C}(X^{(L)})\big)

Shapes:
    - input: ``x`` ``(|V|, F_{in})``, ``adj`` ``(2, |E|)`` (both directions) or ``Graph``
    - output: ``(|V|, F_{out})``
"""
from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.nn.sheaf.diffusion import SheafDiffusion

__all__ = ["NSD"]


class NSD(nn.Module):
    """Neural Sheaf Diffusion (discrete, one learned sheaf per layer).

    Args:
        in_channels / out_channels: input features and classes.
        hidden_channels: channels per stalk coordinate.
        d: stalk dimension.
        num_layers: diffusion steps.
        maps: ``"diagonal"``, ``"orthogonal"`` or ``"general"``.
        dropout: dropout inside each step and before the output layer; ``input_dropout`` before ``Lin_1``.
        **kwargs: passed to every :class:`SheafDiffusion` (``orthogonal``, ``edge_weights``, ...).

    >>> import torch
    >>> model = NSD(4, 3, hidden_channels=8, d=2, num_layers=2)
    >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> model(torch.randn(3, 4), ei).shape
    torch.Size([3, 3])
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 16, d: int = 2,
                 num_layers: int = 2, maps: str = "diagonal", dropout: float = 0.0, input_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__()
        self.d, self.hidden_channels = d, hidden_channels
        self.dropout, self.input_dropout = dropout, input_dropout
        self.lin1 = nn.Linear(in_channels, d * hidden_channels)
        self.layers = nn.ModuleList(
            SheafDiffusion(hidden_channels, d, maps=maps, dropout=dropout, **kwargs) for _ in range(num_layers)
        )
        self.lin2 = nn.Linear(d * hidden_channels, out_channels)

    def forward(self, x: Tensor, adj: Any) -> Tensor:
        n = x.size(0)
        x = F.dropout(x, p=self.input_dropout, training=self.training)
        x = F.elu(self.lin1(x))
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = x.view(n, self.d, self.hidden_channels)
        for layer in self.layers:
            x = layer(x, adj)
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.lin2(x.reshape(n, -1))
