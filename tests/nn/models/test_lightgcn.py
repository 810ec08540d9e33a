"""The LightGCN model against PyG's (embeddings, loss, recommendations)."""
from __future__ import annotations

import torch

from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


def test_lightgcn_model_matches_pyg() -> None:
    pyg = require_peer("torch_geometric")
    g = random_graph(30, 120, 1, seed=4)
    label = torch.randint(0, 30, (2, 25))
    ours, theirs = gnn.LightGCN(30, 8, num_layers=3).double(), pyg.nn.models.LightGCN(30, 8, num_layers=3).double()
    assert_matches_pyg(ours, theirs, g, inputs={}, call=lambda m, k: m(g, label),
                       pyg_call=lambda m, k: m(g.edge_index, label))
    pos, neg = ours(g, label), ours(g, label.flip(0))
    torch.testing.assert_close(ours.recommendation_loss(pos, neg), theirs.recommendation_loss(pos, neg))
    assert torch.equal(ours.recommend(g, k=3), theirs.recommend(g.edge_index, k=3))
