"""DGCNN: per-cloud kNN and backpropagation."""
from __future__ import annotations

import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing.layers import random_graph


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
