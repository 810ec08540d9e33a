"""DSSLayer / SSWLLayer against direct constructions, and the models' invariances and errors."""
import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.subgraph import DSGNN, DSSGNN, DSSLayer, SSWLLayer, SubgraphBag, SubgraphGNN


def graphs():
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 1, 3], [1, 0, 2, 1, 3, 2, 4, 3, 0, 4, 3, 1]])
    g1 = Graph(x=torch.randn(5, 3), edge_index=ei)
    g2 = Graph(x=torch.randn(3, 3), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
    return [g1, g2]


def test_dss_layer_is_subgraph_gnn_plus_original_gnn_on_mean_copies():
    torch.manual_seed(0)
    bag = SubgraphBag("node_deleted")(Batch.from_graphs(graphs()))
    layer = DSSLayer(3, 4)
    out = layer(bag.x, bag)
    # by hand: the subgraph GNN on each subgraph separately, the cross GNN on the original graphs
    own = torch.cat([layer.sub(s.x, s.edge_index) for s in bag.to_graphs()])
    n0 = bag.num_original_nodes
    mean = torch.zeros(n0, 3).index_add_(0, bag.node_map, bag.x)
    mean = mean / torch.bincount(bag.node_map, minlength=n0).clamp(min=1).unsqueeze(1)
    cross = layer.cross(mean, bag.original().edge_index)[bag.node_map]
    torch.testing.assert_close(out, own + cross, atol=1e-5, rtol=1e-5)
    ds = DSSLayer(3, 4, cross=False)
    torch.testing.assert_close(ds(bag.x, bag), ds.sub(bag.x, bag.edge_index), atol=1e-6, rtol=1e-6)


def test_sswl_layer_matches_pair_definition():
    torch.manual_seed(0)
    g = graphs()[1]
    bag = SubgraphBag("node_marked")(Batch.from_graphs([g]))
    layer = SSWLLayer(3, 2).double()
    x = torch.randn(bag.num_nodes, 3, dtype=torch.float64)
    out = layer(x, bag)
    n = g.num_nodes
    adj = torch.zeros(n, n, dtype=torch.bool)
    adj[g.edge_index[1], g.edge_index[0]] = True
    h = x.view(n, n, 3)  # node_marked: subgraph u holds every node v, in order
    want = torch.zeros_like(h)
    for u in range(n):
        for v in range(n):
            want[u, v] = (1 + layer.eps) * h[u, v] + h[u, adj[v]].sum(0) + h[adj[u], v].sum(0)
    torch.testing.assert_close(out, layer.mlp(want.view(-1, 3)), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("layer", ["ds", "dss", "sswl"])
@pytest.mark.parametrize("norm", ["batch", "subgraph", None])
def test_models_are_permutation_invariant_and_train(layer, norm):
    torch.manual_seed(0)
    gs = graphs()
    model = SubgraphGNN(3, 8, 2, num_layers=2, layer=layer, norm=norm).double().eval()
    bag = SubgraphBag("ego_plus", k=2)(Batch.from_graphs(gs))
    out = model(bag, bag.x.double())
    perm = torch.randperm(5)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(5)
    g1 = Graph(x=gs[0].x[perm], edge_index=inv[gs[0].edge_index])
    bag_p = SubgraphBag("ego_plus", k=2)(Batch.from_graphs([g1, gs[1]]))
    torch.testing.assert_close(model(bag_p, bag_p.x.double()), out, atol=1e-10, rtol=1e-10)
    model.train()
    model(bag, bag.x.double()).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_sampled_bag_gives_one_row_per_graph():
    model = DSSGNN(3, 8, 2, num_layers=2)
    bag = SubgraphBag("node_deleted", fraction=0.3)(Batch.from_graphs(graphs()))
    assert model(bag).shape == (2, 2)
    assert DSGNN(3, 8, 2)(bag).shape == (2, 2)


def test_errors():
    with pytest.raises(ValueError, match="layer must be one of"):
        SubgraphGNN(3, 8, 2, layer="gat")
    with pytest.raises(ValueError, match="norm must be one of"):
        SubgraphGNN(3, 8, 2, norm="group")
    with pytest.raises(TypeError, match="bag must be a SubgraphBatch"):
        SubgraphGNN(3, 8, 2)(Batch.from_graphs(graphs()))
    with pytest.raises(ValueError, match="conv must be 'gin' or a callable"):
        DSSLayer(3, 4, conv="gat")
    with pytest.raises(ValueError, match="DSSLayer needs node_map"):
        DSSLayer(3, 4)(torch.randn(3, 3), torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="SSWLLayer needs root_adj"):
        SSWLLayer(3, 4)(torch.randn(3, 3), torch.tensor([[0, 1], [1, 2]]))
