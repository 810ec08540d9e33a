"""Readouts against PyG's, the ready models (GCN, GraphSAGE, GIN: PyG's constructor and state_dict), DGCNN, and
permutation equivariance of every convolution."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, assert_permutation_equivariant, random_graph


def _batch() -> Batch:
    # The empty graph in the middle checks that a graph without nodes reads 0, as in PyG.
    return Batch.from_graphs([random_graph(n, 2 * n, 5, seed=n) for n in (4, 0, 7, 1)])


@pytest.mark.parametrize("name", ["global_add_pool", "global_mean_pool", "global_max_pool"])
def test_pools_match_pyg(name: str) -> None:
    pyg = require_peer("torch_geometric")
    b = _batch()
    x1, x2 = b.x.clone().requires_grad_(True), b.x.clone().requires_grad_(True)
    ours_b, ours_t = getattr(gnn, name)(x1, b), getattr(gnn, name)(x1, b.batch, b.num_graphs)
    theirs = getattr(pyg.nn, name)(x2, b.batch, b.num_graphs)
    torch.testing.assert_close(ours_b, theirs, atol=1e-12, rtol=0)
    torch.testing.assert_close(ours_t, theirs, atol=1e-12, rtol=0)
    ours_b.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(getattr(gnn, name)(b.x, None), getattr(pyg.nn, name)(b.x, None))


def test_attentional_aggregation_matches_pyg() -> None:
    pyg = require_peer("torch_geometric")
    b = _batch()
    gate, nn = torch.nn.Linear(5, 1), torch.nn.Linear(5, 3)
    ours = gnn.AttentionalAggregation(copy.deepcopy(gate), copy.deepcopy(nn))
    theirs = pyg.nn.aggr.AttentionalAggregation(copy.deepcopy(gate), copy.deepcopy(nn))
    assert_matches_pyg(ours, theirs, b, call=lambda m, k: m(k["x"], b),
                       pyg_call=lambda m, k: m(k["x"], b.batch, dim_size=b.num_graphs))


MODELS = [
    ("GCN", {}), ("GCN", {"jk": "cat", "norm": "batch_norm"}), ("GraphSAGE", {"aggr": "max", "jk": "max"}),
    ("GraphSAGE", {"norm": "layer_norm", "act": "elu"}), ("GIN", {"train_eps": True}),
    ("GIN", {"norm": "batch_norm", "jk": "last"}),
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


def test_dgcnn_runs_per_cloud_and_backpropagates() -> None:
    b = Batch.from_graphs([random_graph(n, 0, 3, seed=n) for n in (10, 14)])
    model = gnn.DGCNN(3, 16, num_layers=2, out_channels=5, k=4).double()
    out = model(b.x, b)
    assert out.shape == (24, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    # Clouds do not see each other: moving one cloud far away leaves the other's output unchanged.
    x2 = b.x.clone()
    x2[10:] += 100.0
    torch.testing.assert_close(model(x2, b)[:10], out[:10])


def _mlp(i: int, o: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, 8), torch.nn.ReLU(), torch.nn.Linear(8, o))


EQUIVARIANT: dict = {
    "GCNConv": lambda: gnn.GCNConv(4, 3),
    "SAGEConv": lambda: gnn.SAGEConv(4, 3, aggr=["mean", "max", "softmax"]),
    "GINConv": lambda: gnn.GINConv(_mlp(4, 3)),
    "GraphConv": lambda: gnn.GraphConv(4, 3),
    "SGConv": lambda: gnn.SGConv(4, 3, K=2),
    "APPNP": lambda: gnn.APPNP(3, 0.1),
    "DAGNNConv": lambda: gnn.DAGNNConv(4, 3),
    "EdgeConv": lambda: gnn.EdgeConv(_mlp(8, 3)),
    "DynamicEdgeConv": lambda: gnn.DynamicEdgeConv(_mlp(8, 3), k=3),
    "MFConv": lambda: gnn.MFConv(4, 3),
    "LightGCNConv": lambda: gnn.LightGCNConv(),
}


@pytest.mark.parametrize("name", sorted(EQUIVARIANT))
def test_permutation_equivariant(name: str) -> None:
    g = random_graph(16, 50, 4, seed=7)
    call: Callable = (lambda m, x, gr: m(x, None)) if name == "DynamicEdgeConv" else (lambda m, x, gr: m(x, gr))
    assert_permutation_equivariant(EQUIVARIANT[name]().double(), g, call=call)
