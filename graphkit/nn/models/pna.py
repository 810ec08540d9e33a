"""PNA: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.PNAConv` layers."""
from __future__ import annotations

from typing import Any

from graphkit.nn.conv.pna import PNAConv
from graphkit.nn.models.basic_gnn import BasicGNN

__all__ = ["PNA"]


class PNA(BasicGNN):
    r"""Corso et al.'s Principal Neighbourhood Aggregation stack; constructor and state_dict as PyG's ``PNA``.
    Conv kwargs (``aggregators``, ``scalers``, ``deg``, ``edge_dim``, ``towers``, ...) go to every ``PNAConv``:

    .. math::
        \mathbf{x}'_i = \gamma\Big(\mathbf{x}_i, \bigoplus_{s \in \text{scalers}} \bigoplus_{a \in
        \text{aggregators}} s(d_i)\, a_{j \in \mathcal N(i)}\, \phi(\mathbf{x}_i, \mathbf{x}_j, \mathbf{e}_{ji})\Big)

    Shapes:
        x ``(|V|, F_in)``, edge_attr ``(|E|, D)`` optional -> ``(|V|, out_channels or hidden_channels)``.

    >>> import torch
    >>> deg = torch.tensor([0, 2, 3])  # histogram of in-degrees over the training graphs
    >>> model = PNA(4, 8, num_layers=2, out_channels=3, aggregators=["mean", "max"], scalers=["identity"], deg=deg)
    >>> model(torch.randn(5, 4), torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])).shape
    torch.Size([5, 3])
    """

    supports_edge_attr = True
    trim_input = None  # PNAConv takes one node set (its update concatenates x with the aggregate): never trimmed

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> PNAConv:
        return PNAConv(in_channels, out_channels, **kwargs)
