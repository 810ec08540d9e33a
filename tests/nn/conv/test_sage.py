"""SAGEConv against DGL's, and PyG inputs: bipartite project=True, aggr="lstm" (more in test_conv_parity.py)."""
from __future__ import annotations

import pytest
import torch

from graphkit import nn as gnn
from graphkit.testing import assert_matches_pyg, require_peer
from graphkit.testing.layers import random_graph


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


def test_bipartite_sage_with_project_matches_pyg() -> None:
    """``project=True`` maps the sources only, so the two sides may differ in width (as in PyG)."""
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(7)
    xs, xd = torch.randn(9, 5, generator=gen), torch.randn(6, 3, generator=gen)
    ei = torch.stack([torch.randint(0, 9, (30,), generator=gen), torch.randint(0, 6, (30,), generator=gen)])
    g = random_graph(9, 0, 5)
    assert_matches_pyg(gnn.SAGEConv((5, 3), 4, project=True), pnn.SAGEConv((5, 3), 4, project=True), g,
                       inputs={"x": (xs, xd)}, call=lambda m, k: m(k["x"], ei), pyg_call=lambda m, k: m(k["x"], ei))


def test_sage_lstm_aggregation_matches_pyg(pyg_sage) -> None:
    """``aggr="lstm"`` sizes its LSTM from the source width, as PyG does; edges sorted by target."""
    g = random_graph(12, 40, 5, seed=3)
    order = torch.argsort(g.edge_index[1], stable=True)
    g = type(g)(x=g.x, edge_index=g.edge_index[:, order])
    assert_matches_pyg(gnn.SAGEConv(5, 4, aggr="lstm"), pyg_sage(5, 4, aggr="lstm"), g)


def test_sage_act_relu_is_relu_of_the_output_with_gradients(undirected_graph) -> None:
    """``act="relu"`` (what GraphSAGE passes) and the root term accumulated in place: same values and gradients
    as the plain layer followed by ``torch.relu``, in float64."""
    g = undirected_graph(20, 50, 6)
    conv = gnn.SAGEConv(6, 4).double()
    x = g.x.double().requires_grad_()
    plain = torch.relu(conv(x, g))
    gx, gw = torch.autograd.grad(plain.sum(), (x, conv.lin_r.weight))
    fused = conv(x, g, act="relu")
    fx, fw = torch.autograd.grad(fused.sum(), (x, conv.lin_r.weight))
    torch.testing.assert_close(fused, plain, atol=1e-12, rtol=0)
    torch.testing.assert_close((fx, fw), (gx, gw), atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="act must be None or 'relu', got 'tanh'"):
        conv(x, g, act="tanh")
