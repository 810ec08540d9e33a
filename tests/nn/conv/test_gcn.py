"""GCNConv against DGL's GraphConv (PyG parity is in tests/nn/test_conv_parity.py)."""
from __future__ import annotations

import torch

from graphkit import nn as gnn
from graphkit.testing import require_peer


def test_gcn_matches_dgl_graph_conv(undirected_graph) -> None:
    dgl = require_peer("dgl")
    g = undirected_graph(20, 50, 1)
    dg = dgl.add_self_loop(dgl.graph((g.edge_index[0], g.edge_index[1]), num_nodes=20))
    theirs = dgl.nn.GraphConv(6, 3, norm="both").double()
    ours = gnn.GCNConv(6, 3).double()
    with torch.no_grad():
        ours.lin.weight.copy_(theirs.weight.t())
        ours.bias.copy_(torch.randn(3))
        theirs.bias.copy_(ours.bias)
    torch.testing.assert_close(ours(g.x, g), theirs(dg, g.x), atol=1e-10, rtol=0)
