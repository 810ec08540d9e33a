"""Readouts (global pools, AttentionalAggregation) against PyG's."""
from __future__ import annotations

import copy

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


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
