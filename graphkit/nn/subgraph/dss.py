r"""``DSSLayer``: the DSS-GNN layer of ESAN (Bevilacqua et al., "Equivariant Subgraph Aggregation Networks").

.. math::
    h'_{s,v} = \mathrm{GNN}_1\big(h_{s,\cdot}, A_s\big)_v
             + \mathrm{GNN}_2\Big(\tfrac{1}{|\{s' \ni v\}|}\textstyle\sum_{s' \ni v} h_{s',\cdot},\ A\Big)_v

:math:`\mathrm{GNN}_1` runs on every subgraph :math:`s` (shared weights, its own edges :math:`A_s`);
:math:`\mathrm{GNN}_2` runs on the original graph :math:`A` over each node's features averaged across the copies
of that node in the bag (a mean message pass from the copies to the original nodes), and its output is broadcast
back to every copy. Without the second term the layer is the
DS-GNN (Siamese) layer.

Shapes:
    - input: ``x`` ``(N_s, F_in)``, ``adj`` a :class:`~graphkit.nn.subgraph.SubgraphBatch` (or subgraph
      ``edge_index`` with ``node_map`` ``(N_s,)``, ``original`` adj and ``num_original_nodes``)
    - output: ``(N_s, F_out)``
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch
from torch import Tensor, nn

from graphkit.nn.conv import GINConv
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.subgraph.bag import SubgraphBatch

__all__ = ["DSSLayer", "gin_conv", "ConvFactory"]

ConvFactory = Callable[[int, int], nn.Module]


def gin_conv(in_channels: int, out_channels: int) -> nn.Module:
    """GIN with a two-layer MLP, the convolution ESAN uses."""
    mlp = nn.Sequential(nn.Linear(in_channels, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels))
    return GINConv(mlp, train_eps=True)


def resolve_conv(conv: Union[str, ConvFactory]) -> ConvFactory:
    if conv == "gin":
        return gin_conv
    if callable(conv):
        return conv
    raise ValueError(f"conv must be 'gin' or a callable (in_channels, out_channels) -> Module, got {conv!r}")


class DSSLayer(MessagePassing):
    """One DSS-GNN layer (see the module docstring).

    Args:
        in_channels / out_channels: feature sizes.
        conv: ``"gin"`` or a factory ``(in, out) -> layer`` called as ``layer(x, adj)``; builds both GNNs.
        cross: include the cross-subgraph term (``False`` gives the DS-GNN layer).
    """

    def __init__(self, in_channels: int, out_channels: int, conv: Union[str, ConvFactory] = "gin",
                 cross: bool = True) -> None:
        super().__init__(aggr="mean")
        self.in_channels, self.out_channels = in_channels, out_channels
        make = resolve_conv(conv)
        self.sub = make(in_channels, out_channels)
        self.cross = make(in_channels, out_channels) if cross else None

    def forward(self, x: Tensor, adj: Any, node_map: Optional[Tensor] = None, original: Any = None,
                num_original_nodes: Optional[int] = None) -> Tensor:
        if isinstance(adj, SubgraphBatch):
            node_map = adj.node_map if node_map is None else node_map
            original = adj.original() if original is None else original
            num_original_nodes = adj.num_original_nodes if num_original_nodes is None else num_original_nodes
        out = self.sub(x, adj)
        if self.cross is None:
            return out
        if node_map is None or original is None or num_original_nodes is None:
            raise ValueError("DSSLayer needs node_map, original and num_original_nodes when adj is not a SubgraphBatch")
        if node_map.shape != (x.size(0),):
            raise ValueError(f"node_map must have shape [{x.size(0)}], got {list(node_map.shape)}")
        # Copy -> original node: a bipartite mean message pass (fused into one spmm).
        copies = torch.stack([torch.arange(x.size(0), device=x.device), node_map])
        pooled = self.propagate(copies, size=(x.size(0), num_original_nodes), x=x)
        return out + self.cross(pooled, original).index_select(0, node_map)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for conv in (self.sub, self.cross):
            if conv is not None and hasattr(conv, "reset_parameters"):
                conv.reset_parameters()
