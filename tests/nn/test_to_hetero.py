"""to_hetero: PyG's state_dict loads strictly and outputs and gradients match PyG's to_hetero (float64 1e-10) on
GraphSAGE/GCN/GAT-style models (residual Linear, Sequential, lazy per-type layers) for every aggr; bad metadata and
missing inputs are named."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import GraphConv, SAGEConv, to_hetero
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg
from graphkit.testing.hetero import conv_pair, EDGES, METADATA, dummy_graph, flat, typed_graph


def _model(conv_cls, lin=torch.nn.Linear):
    class GNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = conv_cls(5, 6)
            self.lin1 = lin(5, 6)
            self.conv2 = conv_cls(6, 3)
            self.head = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())

        def forward(self, x, edge_index):
            h = (self.conv1(x, edge_index) + self.lin1(x)).relu()
            return self.head(self.conv2(h, edge_index))

    return GNN()


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min", "mul"])
@pytest.mark.parametrize("layer", ["SAGEConv", "GraphConv"])
def test_matches_pyg(aggr: str, layer: str) -> None:
    pyg = require_peer("torch_geometric")
    ours_cls, theirs_cls = conv_pair(layer)
    x, ei = typed_graph()
    torch.manual_seed(0)
    theirs = pyg.nn.to_hetero(_model(theirs_cls), METADATA, aggr=aggr)
    ours = to_hetero(_model(ours_cls), METADATA, aggr=aggr)
    assert_matches_pyg(ours, theirs, dummy_graph(), inputs=dict(x),
                       call=flat(lambda m, kw: m(kw, ei)), pyg_call=flat(lambda m, kw: m(kw, ei)))


def test_lazy_layers_sized_per_type_and_graph_input() -> None:
    x, ei = typed_graph()
    x["field"] = torch.randn(4, 2, dtype=torch.float64)  # another width: the lazy Linear copy for 'field' sizes itself

    class Lazy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.LazyLinear(5)
            self.conv = SAGEConv(5, 3)

        def forward(self, x, edge_index):
            return self.conv(self.lin(x), edge_index)

    model = to_hetero(Lazy(), METADATA).double()

    class Typed:
        x_dict, edge_index_dict = x, ei

    out = model(Typed())
    assert {k: tuple(v.shape) for k, v in out.items()} == {"author": (7, 3), "paper": (9, 3), "field": (4, 3)}
    assert model.lin.field.weight.shape == (5, 2) and model.lin.paper.weight.shape == (5, 5)


def test_bad_input_is_named() -> None:
    x, ei = typed_graph()
    with pytest.raises(ValueError, match=r"edge type \('paper', 'has', 'venue'\) has node type 'venue'"):
        to_hetero(_model(SAGEConv), (["paper"], [("paper", "has", "venue")]))
    model = to_hetero(_model(SAGEConv), METADATA).double()
    with pytest.raises(ValueError, match="x has no entry for node type 'field'"):
        model({k: v for k, v in x.items() if k != "field"}, ei)
    with pytest.raises(ValueError, match=r"edge_index has no entry for edge type \('paper', 'cites', 'paper'\)"):
        model(x, {k: v for k, v in ei.items() if k != EDGES[2]})
    with pytest.raises(ValueError, match="aggr must be one of"):
        to_hetero(_model(SAGEConv), METADATA, aggr="median")
    # 'author' is never a destination here: the second layer's ('author', 'writes', 'paper') has no author input
    with pytest.raises(ValueError, match="needs node type 'author' from 'conv1'"), pytest.warns(UserWarning):
        to_hetero(_model(SAGEConv), (["author", "paper"], [("author", "writes", "paper"), ("paper", "cites", "paper")]))
