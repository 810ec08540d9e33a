"""GraphTransformer: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.TransformerConv`."""
from __future__ import annotations

from typing import Any

import torch

from graphkit.nn.models.basic_gnn import MultiHeadGNN

__all__ = ["GraphTransformer"]


class GraphTransformer(MultiHeadGNN):
    r"""A stack of graph transformer layers (Shi et al., UniMP): multi-head dot-product attention over each
    node's neighbours, heads concatenated in hidden layers and averaged in the layer that maps to
    ``out_channels`` (the layout of :class:`GAT`). Other conv kwargs (``beta``, ``edge_dim``, ``root_weight``)
    go to ``TransformerConv``.

    .. math::
        \mathbf{x}'_i = \mathbf{W}_1 \mathbf{x}_i + \Big\Vert_{h=1}^{H} \sum_{j \in \mathcal N(i)}
        \alpha^h_{ij} \mathbf{W}^h_2 \mathbf{x}_j, \qquad
        \alpha^h_{ij} = \mathrm{softmax}_j \Big( \frac{(\mathbf{W}^h_3 \mathbf{x}_i)^\top \mathbf{W}^h_4
        \mathbf{x}_j}{\sqrt{d}} \Big)

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.

    >>> import torch
    >>> model = GraphTransformer(8, 16, num_layers=2, out_channels=3, heads=2)
    >>> model(torch.randn(5, 8), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])).shape
    torch.Size([5, 3])
    """

    supports_edge_attr = True

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> torch.nn.Module:
        from graphkit.nn.attention import TransformerConv

        heads = kwargs.pop("heads", 1)
        out_channels, concat = self.head_layout(out_channels, heads)
        return TransformerConv(in_channels, out_channels, heads=heads, concat=concat, dropout=self.dropout.p,
                               **kwargs)
