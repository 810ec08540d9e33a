"""GAT: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.GATConv` (or ``GATv2Conv``)."""
from __future__ import annotations

from typing import Any, Optional

import torch

from graphkit.nn.models.basic_gnn import BasicGNN

__all__ = ["GAT"]


class GAT(BasicGNN):
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

    supports_edge_attr = True

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int, out_channels: Optional[int] = None,
                 **kwargs: Any) -> None:
        # PyG's rule: the conv that maps straight to out_channels (no jumping knowledge) averages its heads
        self._to_out = out_channels is not None and kwargs.get("jk") is None
        super().__init__(in_channels, hidden_channels, num_layers, out_channels, **kwargs)

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> torch.nn.Module:
        from graphkit.nn.attention import GATConv, GATv2Conv

        v2 = kwargs.pop("v2", False)
        heads = kwargs.pop("heads", 1)
        concat = kwargs.pop("concat", True)
        if self._to_out and len(self.convs) == self.num_layers - 1:
            concat = False
        if concat and out_channels % heads != 0:
            raise ValueError(f"hidden_channels ({out_channels}) must be divisible by heads ({heads})")
        if concat:
            out_channels //= heads
        conv = GATv2Conv if v2 else GATConv
        return conv(in_channels, out_channels, heads=heads, concat=concat, dropout=self.dropout.p, **kwargs)
