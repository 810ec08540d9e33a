"""EdgeCNN: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.EdgeConv` layers."""
from __future__ import annotations

from typing import Any

from graphkit.nn.conv.edge_conv import EdgeConv
from graphkit.nn.models.basic_gnn import MLP, BasicGNN

__all__ = ["EdgeCNN"]


class EdgeCNN(BasicGNN):
    r"""Wang et al.'s EdgeConv stack on a fixed graph; constructor and state_dict as PyG's ``EdgeCNN``. Each
    layer's ``nn`` is a 2-layer :class:`MLP` ``[2 * in, out, out]`` with the model's activation and norm, as PyG
    builds it; conv kwargs (``aggr``) go to ``EdgeConv``:

    .. math::
        \mathbf{x}'_i = \max_{j \in \mathcal N(i)} h_{\Theta}(\mathbf{x}_i \,\Vert\, \mathbf{x}_j - \mathbf{x}_i)

    (For a graph rebuilt by k-NN in feature space at every layer, see :class:`~graphkit.nn.DGCNN`.)

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.

    >>> import torch
    >>> EdgeCNN(3, 8, num_layers=2, out_channels=2)(torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 2])
    """

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> EdgeConv:
        mlp = MLP([2 * in_channels, out_channels, out_channels], act=self.act, act_first=self.act_first,
                  norm=self.norm, norm_kwargs=self.norm_kwargs)
        return EdgeConv(mlp, **kwargs)
