"""DynamicEdgeConv: PyG's EdgeConv on our kNN graph, and our kNN against brute force."""
from __future__ import annotations

import copy

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


@pytest.mark.parametrize("aggr", ["max", "mean"])
def test_dynamic_edge_conv_matches_pyg_edge_conv_on_our_knn(aggr: str) -> None:
    pnn = require_peer("torch_geometric").nn
    b = Batch.from_graphs([random_graph(n, 0, 4, seed=n) for n in (12, 3, 20)])
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))
    ours = gnn.DynamicEdgeConv(copy.deepcopy(mlp), k=5, aggr=aggr)
    ei = ours.knn(b.x, b.batch)
    assert_matches_pyg(ours, pnn.EdgeConv(copy.deepcopy(mlp), aggr=aggr), b,
                       call=lambda m, k: m(k["x"], b), pyg_call=lambda m, k: m(k["x"], ei))


def test_knn_in_feature_space_matches_brute_force() -> None:
    conv = gnn.DynamicEdgeConv(torch.nn.Linear(6, 2), k=4)
    x = torch.randn(40, 3, dtype=torch.float64)
    batch = torch.tensor([0] * 15 + [1] * 25)
    ei = conv.knn(x, batch)
    d = torch.cdist(x, x)
    d[batch[:, None] != batch[None, :]] = float("inf")
    expected = d.topk(4, dim=1, largest=False).indices  # self included (distance 0)
    for i in range(40):
        got = sorted(ei[0][ei[1] == i].tolist())
        assert got == sorted(expected[i].tolist()), f"node {i}: {got} vs {expected[i].tolist()}"
