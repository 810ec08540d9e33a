r"""Subgraph GNNs for graph-level prediction: DS-GNN, DSS-GNN and an SSWL-class variant.

.. math::
    h^{(0)}_{s,v} = [x_v \,\|\, \mathrm{mark}_{s,v}],\quad
    h^{(\ell+1)} = \mathrm{ReLU}(\mathrm{Norm}(\mathrm{Layer}_\ell(h^{(\ell)}, \mathrm{bag}))),\quad
    y_G = \mathrm{MLP}_2\Big(\tfrac{1}{|S_G|}\sum_{s \in S_G}
          \textstyle\sum_{v \in s} \mathrm{MLP}_1\big(h^{(L)}_{s,v}\big)\Big)

``Layer`` is a shared GNN on each subgraph (DS-GNN), a :class:`~graphkit.nn.subgraph.DSSLayer` (DSS-GNN) or an
:class:`~graphkit.nn.subgraph.SSWLLayer`. The subgraph readout is a sum, the graph readout a mean over the bag
(so a sampled bag estimates the full one).

Shapes:
    - input: ``bag`` a :class:`~graphkit.nn.subgraph.SubgraphBatch` with node features ``x`` ``(N_s, F_in)``
    - output: ``(B, F_out)``, one row per original graph
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from graphkit.nn.pool import global_add_pool
from graphkit.nn.subgraph.bag import SubgraphBatch
from graphkit.nn.subgraph.dss import ConvFactory, DSSLayer, resolve_conv
from graphkit.nn.subgraph.sswl import SSWLLayer
from graphkit.ops import scatter, segment

__all__ = ["SubgraphGNN", "DSGNN", "DSSGNN", "SubgraphNorm"]

LAYERS = ("ds", "dss", "sswl")


class SubgraphNorm(nn.Module):
    r"""Per-subgraph standardisation :math:`\gamma (h_{s,v} - \mu_s) / \sqrt{\sigma_s^2 + \epsilon} + eta`.

    Like BatchNorm it removes the component that every node shares (large when the input is constant and only
    the marks differ), but from each subgraph's own nodes, so training and evaluation compute the same thing.

    Shapes: ``h`` ``(N_s, F)``, ``bag`` the ``SubgraphBatch`` -> ``(N_s, F)``.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, h: Tensor, bag: SubgraphBatch) -> Tensor:
        mean = segment(h, bag.ptr, reduce="mean").index_select(0, bag.batch)
        centred = h - mean
        var = segment(centred * centred, bag.ptr, reduce="mean").index_select(0, bag.batch)
        return self.weight * centred / torch.sqrt(var + self.eps) + self.bias


NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "subgraph": SubgraphNorm, None: lambda _: nn.Identity()}


class SubgraphGNN(nn.Module):
    """A subgraph GNN (see the module docstring).

    Args:
        in_channels: node features (the mark adds one more when ``use_mark``).
        hidden_channels / out_channels: hidden size and outputs per graph.
        num_layers: message-passing layers.
        layer: ``"ds"``, ``"dss"`` or ``"sswl"``.
        conv: ``"gin"`` or a factory ``(in, out) -> layer`` for the DS/DSS GNNs.
        use_mark: append the root mark as a feature (node marking).
        dropout: dropout before the last MLP.
        norm: ``"batch"`` (BatchNorm over all subgraph nodes, as ESAN), ``"subgraph"`` (:class:`SubgraphNorm`),
            ``"layer"`` or ``None``. Where all nodes look alike until the marks spread (CSL), BatchNorm's running
            statistics cannot resolve the small differences it learned from batch statistics: use ``"subgraph"``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 3,
                 layer: str = "dss", conv: Union[str, ConvFactory] = "gin", use_mark: bool = True,
                 dropout: float = 0.0, norm: Optional[str] = "batch") -> None:
        super().__init__()
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")
        self.layer, self.use_mark, self.dropout = layer, use_mark, dropout
        make = resolve_conv(conv)
        dims = [in_channels + int(use_mark)] + [hidden_channels] * num_layers
        self.convs = nn.ModuleList()
        for a, b in zip(dims[:-1], dims[1:]):
            if layer == "ds":
                self.convs.append(make(a, b))
            elif layer == "dss":
                self.convs.append(DSSLayer(a, b, conv=make))
            else:
                self.convs.append(SSWLLayer(a, b))
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.norms = nn.ModuleList(NORMS[norm](hidden_channels) for _ in range(num_layers))
        self.sub_mlp = nn.Sequential(nn.Linear(hidden_channels, hidden_channels), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(hidden_channels, hidden_channels), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_channels, out_channels))

    def forward(self, bag: SubgraphBatch, x: Optional[Tensor] = None) -> Tensor:
        if not isinstance(bag, SubgraphBatch):
            raise TypeError(f"bag must be a SubgraphBatch (from SubgraphBag), got {type(bag).__name__}")
        h = bag.x if x is None else x
        if h is None:
            raise ValueError("the bag has no node features x; pass x")
        if h.dim() == 1:
            h = h.unsqueeze(1)
        h = h.float() if not h.is_floating_point() else h
        if self.use_mark:
            h = torch.cat([h, bag.mark.to(h.dtype).unsqueeze(1)], dim=1)
        for conv, norm in zip(self.convs, self.norms):
            h = conv(h, bag)
            h = torch.relu(norm(h, bag) if isinstance(norm, SubgraphNorm) else norm(h))
        # DeepSets readout: a node-wise MLP before the sum, so that a normalised layer (mean zero per
        # subgraph) still reads out the shape of its distribution, not just its (constant) sum.
        per_sub = global_add_pool(self.sub_mlp(h), bag)
        per_graph = scatter(per_sub, bag.subgraph_graph, dim_size=bag.num_original_graphs, reduce="mean")
        return self.head(per_graph)


def DSGNN(in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 3, **kwargs) -> SubgraphGNN:
    """DS-GNN: a shared (Siamese) GNN on every subgraph, then subgraph and graph readouts."""
    return SubgraphGNN(in_channels, hidden_channels, out_channels, num_layers, layer="ds", **kwargs)


def DSSGNN(in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 3, **kwargs) -> SubgraphGNN:
    """DSS-GNN: DSS layers (subgraph GNN + GNN over the aggregated copies of each node)."""
    return SubgraphGNN(in_channels, hidden_channels, out_channels, num_layers, layer="dss", **kwargs)
