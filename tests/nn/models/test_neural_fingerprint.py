"""NeuralFingerprint against PyG's model."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_neural_fingerprint_matches_pyg(dtype: torch.dtype) -> None:
    pyg = require_peer("torch_geometric")
    b = Batch.from_graphs([random_graph(n, 2 * n, 5, seed=n, dtype=dtype) for n in (6, 3, 8)])
    assert_matches_pyg(gnn.NeuralFingerprint(5, 7, 4, num_layers=3), pyg.nn.models.NeuralFingerprint(5, 7, 4, 3), b,
                       dtype=dtype, call=lambda m, k: m(k["x"], b),
                       pyg_call=lambda m, k: m(k["x"], b.edge_index, b.batch))
