"""SAGEConv against DGL's SAGEConv (PyG parity is in tests/nn/test_conv_parity.py)."""
from __future__ import annotations

import pytest
import torch

from graphkit import nn as gnn
from graphkit.testing import require_peer


@pytest.mark.parametrize("dgl_aggr", ["mean", "pool"])
def test_sage_matches_dgl_sage_conv(dgl_aggr: str, undirected_graph) -> None:
    dgl = require_peer("dgl")
    g = undirected_graph(20, 50, 2)
    dg = dgl.graph((g.edge_index[0], g.edge_index[1]), num_nodes=20)
    theirs = dgl.nn.SAGEConv(6, 3, dgl_aggr).double()
    ours = (gnn.SAGEConv(6, 3) if dgl_aggr == "mean" else gnn.SAGEConv(6, 3, aggr="max", project=True)).double()
    with torch.no_grad():
        ours.lin_l.weight.copy_(theirs.fc_neigh.weight)
        ours.lin_l.bias.copy_(theirs.fc_self.bias)
        ours.lin_r.weight.copy_(theirs.fc_self.weight)
        if dgl_aggr == "pool":
            ours.lin.weight.copy_(theirs.fc_pool.weight)
            ours.lin.bias.copy_(theirs.fc_pool.bias)
    torch.testing.assert_close(ours(g.x, g), theirs(dg, g.x), atol=1e-10, rtol=0)
