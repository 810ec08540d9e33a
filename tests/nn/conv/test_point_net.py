"""PointNetConv against PyG on random, batched and bipartite point clouds (with and without features)."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import PointNetConv
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    def make(n: int, seed: int) -> Graph:
        g = random_graph(n, 3 * n, 4, seed=seed, dtype=dtype)
        return Graph(x=g.x, pos=torch.randn(n, 3, dtype=dtype), edge_index=g.edge_index)

    return make(20, 22) if kind == "random" else Batch.from_graphs([make(n, n) for n in (5, 9)])


def _mlp(i: int, o: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, 16), torch.nn.ReLU(), torch.nn.Linear(16, o))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", ["features", "positions_only", "no_loops_mean"])
def test_point_net_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    g = _graph(kind, dtype)
    local, glob = _mlp(7 if case != "positions_only" else 3, 8), torch.nn.Linear(8, 5)
    kw: Any = {"add_self_loops": False, "aggr": "mean"} if case == "no_loops_mean" else {}
    ours = PointNetConv(copy.deepcopy(local), copy.deepcopy(glob), **kw)
    theirs = pnn.PointNetConv(copy.deepcopy(local), copy.deepcopy(glob), **kw)
    x = None if case == "positions_only" else g.x
    inputs = {"pos": g.pos} if x is None else {"x": x, "pos": g.pos}
    assert_matches_pyg(ours, theirs, g, inputs=inputs, dtype=dtype,
                       call=lambda m, k: m(k.get("x"), k["pos"], g),
                       pyg_call=lambda m, k: m(k.get("x"), k["pos"], g.edge_index))


def test_point_net_bipartite_matches_pyg() -> None:
    pnn = require_peer("torch_geometric").nn
    xs, ps, pd = torch.randn(10, 4, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64), torch.randn(
        4, 3, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    local = _mlp(7, 6)
    assert_matches_pyg(PointNetConv(copy.deepcopy(local)), pnn.PointNetConv(copy.deepcopy(local)),
                       Graph(edge_index=ei, num_nodes=10), inputs={"x": (xs, None), "pos": (ps, pd)},
                       call=lambda m, k: m(k["x"], k["pos"], ei), pyg_call=lambda m, k: m(k["x"], k["pos"], ei))
