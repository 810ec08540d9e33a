"""FastRGCNConv: PyG's FastRGCNConv state_dict loads strictly and outputs and gradients match (float64 1e-10,
float32 1e-5) for mean/add, bases and blocks, featureless x=None; its aggr restriction is PyG's."""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit.nn import FastRGCNConv
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph

R = 3
CONFIGS = {"mean": {}, "add": {"aggr": "add"}, "bases": {"num_bases": 2}, "blocks": {"num_blocks": 2}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_matches_pyg(cfg: str, dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    g = random_graph(25, 120, 8, seed=4, dtype=dtype)
    et = torch.randint(0, R, (g.num_edges,), generator=torch.Generator().manual_seed(2))
    assert_matches_pyg(FastRGCNConv(8, 6, R, **CONFIGS[cfg]), pnn.FastRGCNConv(8, 6, R, **CONFIGS[cfg]), g,
                       dtype=dtype, call=lambda m, kw: m(kw["x"], g.edge_index, et),
                       pyg_call=lambda m, kw: m(kw["x"], g.edge_index, et))


@pytest.mark.parametrize("cfg", ["mean", "bases"])
def test_featureless_matches_pyg(cfg: str) -> None:
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(3)
    ei, et = torch.randint(0, 10, (2, 40), generator=gen), torch.randint(0, R, (40,), generator=gen)
    assert_matches_pyg(FastRGCNConv(10, 4, R, **CONFIGS[cfg]), pnn.FastRGCNConv(10, 4, R, **CONFIGS[cfg]),
                       Graph(edge_index=ei, num_nodes=10), inputs={},
                       call=lambda m, kw: m(None, ei, et), pyg_call=lambda m, kw: m(None, ei, et))


def test_aggr_restricted_as_pyg() -> None:
    with pytest.raises(ValueError, match="FastRGCNConv's aggr must be 'add', 'sum' or 'mean', got 'max'"):
        FastRGCNConv(4, 4, R, aggr="max")
