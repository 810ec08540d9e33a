"""GCN: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.GCNConv` layers."""
from __future__ import annotations

from typing import Any

from graphkit.nn.conv.gcn import GCNConv
from graphkit.nn.models.basic_gnn import BasicGNN

__all__ = ["GCN"]


class GCN(BasicGNN):
    """Kipf & Welling's GCN stack; constructor and state_dict as PyG's ``GCN``; conv kwargs go to ``GCNConv``.

    Shapes:
        x ``(|V|, F_in)``, edge_weight ``(|E|)`` optional -> ``(|V|, out_channels or hidden_channels)``.
    """

    supports_edge_weight = True
    trim_input = "source"
    trim_edge_weight = False
    conv_takes_relu = True  # GCNConv applies it in its spmm epilogue

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> GCNConv:
        return GCNConv(in_channels, out_channels, **kwargs)
