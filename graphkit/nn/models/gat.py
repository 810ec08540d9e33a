"""GAT: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.GATConv` (or ``GATv2Conv``)."""
from __future__ import annotations

from typing import Any

import torch

from graphkit.nn.models.basic_gnn import MultiHeadGNN

__all__ = ["GAT"]


class GAT(MultiHeadGNN):
    r"""Graph attention stack; constructor and state_dict as PyG's ``GAT`` (``v2=True`` uses ``GATv2Conv``).

    Hidden layers run ``heads`` attention heads of ``hidden_channels // heads`` channels each and concatenate
    them; the layer that maps to ``out_channels`` averages its heads (``concat=False``), as in PyG. Other conv
    kwargs (``negative_slope``, ``add_self_loops``, ``edge_dim``, ...) go to the conv.

    .. math::
        \mathbf{x}'_i = \Big\Vert_{h=1}^{H} \sum_{j \in \mathcal N(i) \cup \{i\}} \alpha^h_{ij} \mathbf{W}^h
        \mathbf{x}_j

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.

    >>> import torch
    >>> model = GAT(8, 16, num_layers=2, out_channels=3, heads=4)
    >>> model(torch.randn(5, 8), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])).shape
    torch.Size([5, 3])
    """

    targets_apart = False  # the convs add self-loops on the first min(num_src, num_dst) nodes

    supports_edge_attr = True

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> torch.nn.Module:
        from graphkit.nn.attention import GATConv, GATv2Conv

        v2 = kwargs.pop("v2", False)
        heads = kwargs.pop("heads", 1)
        out_channels, concat = self.head_layout(out_channels, heads, kwargs.pop("concat", True))
        conv = GATv2Conv if v2 else GATConv
        return conv(in_channels, out_channels, heads=heads, concat=concat, dropout=self.dropout.p, **kwargs)
