"""GIN: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.GINConv` layers."""
from __future__ import annotations

from typing import Any

from graphkit.nn.conv.gin import GINConv
from graphkit.nn.models.basic_gnn import MLP, BasicGNN

__all__ = ["GIN"]


class GIN(BasicGNN):
    """GIN stack: each layer's ``nn`` is a 2-layer :class:`MLP` ``[in, out, out]`` with the model's activation and
    norm, as PyG's ``GIN`` builds it (same state_dict). Conv kwargs (``eps``, ``train_eps``) go to ``GINConv``.

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.
    """

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> GINConv:
        mlp = MLP([in_channels, out_channels, out_channels], act=self.act, act_first=self.act_first,
                  norm=self.norm, norm_kwargs=self.norm_kwargs)
        return GINConv(mlp, **kwargs)
