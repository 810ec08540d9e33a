"""SAGEConv against DGL's, and PyG inputs: bipartite project=True, aggr="lstm" (more in test_conv_parity.py)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.utils.prune

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


def test_sage_root_term_in_place_against_the_formula(undirected_graph) -> None:
    """The in-place root term, written out by hand: relu(W_l mean_j x_j + b + W_r x_i), values and gradients."""
    g = undirected_graph(20, 50, 6)
    conv = gnn.SAGEConv(6, 4).double()
    x = g.x.double().requires_grad_()
    src, dst = g.edge_index
    mean = torch.zeros(20, 6, dtype=torch.float64).index_add_(0, dst, x[src])
    mean = mean / torch.bincount(dst, minlength=20).clamp(min=1).unsqueeze(1).double()
    expected = torch.relu(mean @ conv.lin_l.weight.t() + conv.lin_l.bias + x @ conv.lin_r.weight.t())
    out = conv(x, g, act="relu")
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
    params = (x, conv.lin_l.weight, conv.lin_r.weight)
    torch.testing.assert_close(torch.autograd.grad(out.sum(), params), torch.autograd.grad(expected.sum(), params),
                               atol=1e-12, rtol=0)


@pytest.mark.parametrize("layer", ["sage", "gcn"])
def test_hooks_and_pruning_on_the_linear_maps_still_run(undirected_graph, layer: str) -> None:
    """The fused products read the weights directly, except where a hook (or pruning's pre-hook) needs the
    module called: then the hook fires and the output it kept is not overwritten in place."""
    g = undirected_graph(20, 50, 6)
    conv = (gnn.SAGEConv(6, 4) if layer == "sage" else gnn.GCNConv(6, 4)).to(g.x.dtype)
    lin = conv.lin_l if layer == "sage" else conv.lin
    seen = []
    handle = lin.register_forward_hook(lambda module, inputs, output: seen.append(output.detach().clone()))
    kept = []
    handle2 = lin.register_forward_hook(lambda module, inputs, output: kept.append(output))
    conv(g.x, g, act="relu")
    assert len(seen) == 1 and torch.equal(kept[0], seen[0])  # fired, and its output was not edited in place
    handle.remove(), handle2.remove()
    torch.nn.utils.prune.l1_unstructured(lin, "weight", amount=0.5)
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    for _ in range(2):  # pruning recomputes the weight in a pre-hook each call
        opt.zero_grad()
        conv(g.x, g).sum().backward()
        opt.step()
    assert int((lin.weight == 0).sum()) == lin.weight.numel() // 2
