"""PointTransformerConv against PyG on random, batched and bipartite point clouds."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import PointTransformerConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    def make(n: int, seed: int) -> Graph:
        g = random_graph(n, 3 * n, 4, seed=seed, dtype=dtype)
        return Graph(x=g.x, pos=torch.randn(n, 3, dtype=dtype), edge_index=g.edge_index)

    return make(20, 23) if kind == "random" else Batch.from_graphs([make(n, n) for n in (5, 9)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, lazy: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    ours = PointTransformerConv(-1 if lazy else 4, 6, **copy.deepcopy(kw))
    theirs = pnn.PointTransformerConv(4, 6, **copy.deepcopy(kw))
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "pos": g.pos}, dtype=dtype,
                       call=lambda m, k: m(k["x"], k["pos"], adj),
                       pyg_call=lambda m, k: m(k["x"], k["pos"], g.edge_index))


CASES = {"default": {}, "nets": {"pos_nn": torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU()),
                                 "attn_nn": torch.nn.Linear(6, 6)},
         "no_loops": {"add_self_loops": False}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_point_transformer_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(CASES[case], _graph(kind, dtype), dtype)


def test_point_transformer_edge_index_torch_backend_lazy_and_bipartite_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({}, g, torch.float64, adj=g.edge_index, lazy=True)
    with use_backend("torch"):
        _check(CASES["nets"], g, torch.float64)
    pnn = require_peer("torch_geometric").nn
    xs, xd = torch.randn(10, 4, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    ps, pd = torch.randn(10, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    assert_matches_pyg(PointTransformerConv((4, 5), 3), pnn.PointTransformerConv((4, 5), 3),
                       Graph(edge_index=ei, num_nodes=10), inputs={"x": (xs, xd), "pos": (ps, pd)},
                       call=lambda m, k: m(k["x"], k["pos"], ei), pyg_call=lambda m, k: m(k["x"], k["pos"], ei))
