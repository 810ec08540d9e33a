"""The attention stacks behind `graphkit train --model gat|gatv2|transformer`: GAT against PyG's `GAT` (its
constructor and state_dict), GraphTransformer's head layout, equivariance and gradients."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, assert_permutation_equivariant, random_graph

GATS = [{"heads": 2}, {"heads": 2, "v2": True}, {"heads": 2, "jk": "cat"}, {"heads": 1, "add_self_loops": False}]


@pytest.mark.parametrize("kwargs", GATS, ids=["gat", "gatv2", "gat-jk-cat", "gat-no-self-loops"])
def test_gat_loads_pyg_state_dict_and_matches(kwargs: Any) -> None:
    pyg = require_peer("torch_geometric")
    b = Batch.from_graphs([random_graph(n, 3 * n, 5, seed=n) for n in (6, 9)])
    torch.manual_seed(1)
    theirs = pyg.nn.models.GAT(5, 8, num_layers=3, out_channels=4, **kwargs)
    ours = gnn.GAT(5, 8, num_layers=3, out_channels=4, **kwargs)
    assert_matches_pyg(ours, theirs, b, call=lambda m, k: m(k["x"], b),
                       pyg_call=lambda m, k: m(k["x"], b.edge_index))


def test_gat_without_out_channels_concatenates_every_layer() -> None:
    model = gnn.GAT(5, 8, num_layers=2, heads=4)
    assert [(c.heads, c.concat) for c in model.convs] == [(4, True), (4, True)]
    assert model(torch.randn(3, 5), torch.tensor([[0, 1], [1, 2]])).shape == (3, 8)
    with pytest.raises(ValueError, match=r"hidden_channels \(6\) must be divisible by heads \(4\)"):
        gnn.GAT(5, 6, num_layers=2, heads=4)


@pytest.mark.parametrize("cls", ["GAT", "GraphTransformer"])
def test_attention_stacks_are_equivariant_and_backpropagate(cls: str) -> None:
    g = random_graph(12, 40, 5, seed=3)
    model = getattr(gnn, cls)(5, 8, num_layers=2, out_channels=3, heads=2).double()
    assert [c.concat for c in model.convs] == [True, False]  # heads concatenated, then averaged into 3 outputs
    assert_permutation_equivariant(model, g)
    model.train()
    model(g.x, g).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
