"""Permutation equivariance of every convolution."""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from graphkit import nn as gnn
from graphkit.testing.layers import assert_permutation_equivariant, random_graph


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
