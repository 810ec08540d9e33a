"""ResGatedGraphConv against PyG on random, batched and bipartite graphs, with and without edge features."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import ResGatedGraphConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=11, dtype=dtype, edge_dim=3)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, edge_dim=3) for n in (5, 8)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, lazy: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = ResGatedGraphConv(-1 if lazy else 6, 4, **kw), pnn.ResGatedGraphConv(6, 4, **kw)
    adj = g if adj is None else adj
    e = "edge_dim" in kw
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["e"] if e else None),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["e"] if e else None))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"edge_dim": 3, "root_weight": False}, {"bias": False}],
                         ids=["plain", "edges", "nobias"])
def test_res_gated_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(kw, _graph(kind, dtype), dtype)


def test_res_gated_edge_index_torch_backend_lazy_and_bipartite_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({}, g, torch.float64, adj=g.edge_index, lazy=True)
    with use_backend("torch"):
        _check({"edge_dim": 3}, g, torch.float64)
    pnn = require_peer("torch_geometric").nn
    xs, xd = torch.randn(10, 6, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    assert_matches_pyg(ResGatedGraphConv((6, 5), 3), pnn.ResGatedGraphConv((6, 5), 3),
                       Graph(edge_index=ei, num_nodes=10), inputs={"x": (xs, xd)},
                       call=lambda m, k: m(k["x"], ei), pyg_call=lambda m, k: m(k["x"], ei))
