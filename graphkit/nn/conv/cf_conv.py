r"""``CFConv``: SchNet's continuous-filter convolution (Schütt et al., "SchNet: A continuous-filter convolutional
neural network for modeling quantum interactions")."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from graphkit import ops

__all__ = ["CFConv"]


class CFConv(torch.nn.Module):
    r"""Each neighbour's features, filtered by a learned function of the interatomic distance:

    .. math::
        \mathbf{x}'_i = \mathbf{W}_2 \sum_{j \in \mathcal{N}(i)} \mathbf{W}_1 \mathbf{x}_j \odot
            h_\Theta(\mathbf{e}_{ji}) \, C(d_{ji}),\qquad
        C(d) = \tfrac{1}{2}\left(\cos\frac{\pi d}{r_c} + 1\right)

    with :math:`h_\Theta` = ``nn`` (expanded distances ``edge_attr`` to ``num_filters`` filters) and the cosine
    cutoff :math:`C`. The neighbourhood sum runs on graphkit's scatter kernel. Parameters ``lin1`` (no bias),
    ``lin2``, ``nn.*`` as PyG's SchNet ``CFConv``.

    Shapes:
        x ``(N, F_in)``, edge_index ``(2, E)``, edge_weight ``(E,)`` (distances), edge_attr ``(E, G)`` ->
        ``(N, F_out)``.

    >>> conv = CFConv(4, 3, 8, torch.nn.Linear(5, 8), cutoff=2.0)
    >>> ei = torch.tensor([[0, 1], [1, 0]])
    >>> conv(torch.randn(2, 4), ei, torch.tensor([1.0, 1.0]), torch.randn(2, 5)).shape
    torch.Size([2, 3])
    """

    def __init__(self, in_channels: int, out_channels: int, num_filters: int, nn: torch.nn.Module,
                 cutoff: float) -> None:
        super().__init__()
        self.lin1 = torch.nn.Linear(in_channels, num_filters, bias=False)
        self.lin2 = torch.nn.Linear(num_filters, out_channels)
        self.nn, self.cutoff = nn, cutoff
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.lin1.weight)
        torch.nn.init.xavier_uniform_(self.lin2.weight)
        torch.nn.init.zeros_(self.lin2.bias)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor, edge_attr: Tensor) -> Tensor:
        if edge_weight.numel() != edge_index.size(1) or edge_attr.size(0) != edge_index.size(1):
            raise ValueError(f"edge_weight ({edge_weight.numel()}) and edge_attr ({edge_attr.size(0)}) need one row "
                             f"per edge ({edge_index.size(1)})")
        envelope = 0.5 * (torch.cos(edge_weight * math.pi / self.cutoff) + 1.0)
        filters = self.nn(edge_attr) * envelope.view(-1, 1)
        h = self.lin1(x)
        return self.lin2(ops.scatter(h[edge_index[0]] * filters, edge_index[1], x.size(0), reduce="sum"))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.lin1.in_features}, {self.lin2.out_features}, "
                f"num_filters={self.lin1.out_features}, cutoff={self.cutoff})")
