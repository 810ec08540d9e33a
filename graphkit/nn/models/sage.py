"""GraphSAGE: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.SAGEConv` layers."""
from __future__ import annotations

from typing import Any

from graphkit.nn.conv.sage import SAGEConv
from graphkit.nn.models.basic_gnn import BasicGNN

__all__ = ["GraphSAGE"]


class GraphSAGE(BasicGNN):
    """GraphSAGE stack; constructor and state_dict as PyG's ``GraphSAGE``; conv kwargs (``aggr``, ``normalize``,
    ``project``, ...) go to ``SAGEConv``.

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.
    """

    conv_takes_relu = True  # SAGEConv applies it in place on its own output

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> SAGEConv:
        return SAGEConv(in_channels, out_channels, **kwargs)
