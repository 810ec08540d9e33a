"""The ready models (GCN, GraphSAGE, GIN, PNA, EdgeCNN): PyG's constructor and state_dict, same output."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


MODELS = [
    ("GCN", {}), ("GCN", {"jk": "cat", "norm": "batch_norm"}), ("GraphSAGE", {"aggr": "max", "jk": "max"}),
    ("GraphSAGE", {"norm": "layer_norm", "act": "elu"}), ("GIN", {"train_eps": True}),
    ("GIN", {"norm": "batch_norm", "jk": "last"}),
    ("PNA", {"aggregators": ["mean", "min", "max", "std"], "scalers": ["identity", "amplification", "attenuation"],
             "deg": torch.tensor([1, 3, 4, 2, 1]), "towers": 2}),
    ("PNA", {"aggregators": ["sum", "max"], "scalers": ["linear"], "deg": torch.tensor([0, 5, 2]),
             "norm": "batch_norm", "jk": "cat"}),
    ("EdgeCNN", {}), ("EdgeCNN", {"aggr": "mean", "norm": "batch_norm", "jk": "max"}),
]


@pytest.mark.parametrize("name,kwargs", MODELS, ids=[f"{n}-{'-'.join(k)}" for n, k in MODELS])
def test_models_load_pyg_state_dict_and_match(name: str, kwargs: Any) -> None:
    pyg = require_peer("torch_geometric")
    b = Batch.from_graphs([random_graph(n, 3 * n, 5, seed=n) for n in (6, 9)])
    torch.manual_seed(1)
    theirs = getattr(pyg.nn.models, name)(5, 8, num_layers=3, out_channels=4, **kwargs)
    ours = getattr(gnn, name)(5, 8, num_layers=3, out_channels=4, **kwargs)
    ours.train(), theirs.train()  # batch norm in training mode uses batch statistics
    assert_matches_pyg(ours, theirs, b, call=lambda m, k: m(k["x"], b),
                       pyg_call=lambda m, k: m(k["x"], b.edge_index, batch=b.batch, batch_size=b.num_graphs))


def test_pna_model_reads_edge_features_like_pyg() -> None:
    pyg = require_peer("torch_geometric")
    g = random_graph(10, 30, 5, seed=2, edge_dim=3)
    kw = dict(aggregators=["mean", "max"], scalers=["identity", "amplification"], deg=torch.tensor([2, 4, 3, 1]),
              edge_dim=3)
    torch.manual_seed(0)
    theirs = pyg.nn.models.PNA(5, 8, num_layers=2, out_channels=4, **kw)
    ours = gnn.PNA(5, 8, num_layers=2, out_channels=4, **kw)
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr},
                       call=lambda m, k: m(k["x"], g, edge_attr=k["e"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, edge_attr=k["e"]))



@pytest.mark.parametrize("name,kwargs", [("GraphSAGE", {}), ("GraphSAGE", {"aggr": "max", "jk": "cat"}),
                                         ("GIN", {"norm": "batch_norm", "jk": "max"}), ("EdgeCNN", {}),
                                         ("GraphTransformer", {"heads": 2})])
def test_layerwise_inference_equals_forward(name: str, kwargs: Any) -> None:
    g = random_graph(50, 300, 5, seed=3)
    g.x = g.x.float()  # float32, as trained: the 1e-5 tolerance is float32 rounding
    torch.manual_seed(0)
    model = getattr(gnn, name)(5, 8, num_layers=3, out_channels=4, **kwargs)
    if kwargs.get("norm"):  # running statistics that are not the initial ones
        model.train()
        model(g.x, g)
    model.eval()
    assert model.inference_blocker() is None
    with torch.no_grad():
        full = model(g.x, g)
    for batch_size in (7, 50, 64):  # 8 blocks (the last one short), one block, more than the graph
        torch.testing.assert_close(model.inference(g.x, g, batch_size), full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.inference(g.x, g.edge_index, 7), full, rtol=1e-5, atol=1e-5)


def test_layerwise_inference_refuses_what_it_cannot_reproduce() -> None:
    g = random_graph(20, 60, 5, seed=4)
    g.x = g.x.float()
    for model, why in ((gnn.GCN(5, 8, num_layers=2), "in-neighbourhood"),
                       (gnn.GAT(5, 8, num_layers=2, heads=2), "self-loops"),
                       (gnn.GraphSAGE(5, 8, num_layers=2, norm="layer_norm").eval(), "norms"),
                       (gnn.GIN(5, 8, num_layers=2, norm="batch_norm").train(), "norms")):
        assert why in model.inference_blocker()
        with pytest.raises(ValueError, match="inference\\(\\) cannot chunk this model"):
            model.inference(g.x, g, 6)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        gnn.GraphSAGE(5, 8, num_layers=2).inference(g.x, g, 0)


def test_layerwise_inference_sees_norms_inside_the_convs() -> None:
    # a 1-layer GIN has no stack norm (norms[0] is Identity) but its MLP carries one: blocks would each normalise
    # over themselves, so inference must refuse (max error against forward was 0.46 when it did not)
    g = random_graph(40, 120, 5, seed=5)
    g.x = g.x.float()
    for kwargs in ({"norm": "layer"}, {"norm": "batch", "norm_kwargs": {"track_running_stats": False}}):
        model = gnn.GIN(5, 8, num_layers=1, out_channels=3, **kwargs).eval()
        why = model.inference_blocker()
        assert why is not None and "convs.0" in why, why
        with pytest.raises(ValueError, match="cannot chunk this model"):
            model.inference(g.x, g, 7)
    ok = gnn.GIN(5, 8, num_layers=1, out_channels=3, norm="batch").eval()  # running statistics: per node
    assert ok.inference_blocker() is None
    with torch.no_grad():
        torch.testing.assert_close(ok.inference(g.x, g, 7), ok(g.x, g), rtol=1e-5, atol=1e-5)


def test_layerwise_inference_of_an_empty_graph_has_the_output_width() -> None:
    model = gnn.GraphSAGE(5, 8, num_layers=2, out_channels=3).eval()
    x = torch.zeros(0, 5)
    out = model.inference(x, torch.zeros(2, 0, dtype=torch.long), 4)
    assert out.shape == (0, 3)
