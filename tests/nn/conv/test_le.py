"""LEConv against PyG on random, batched and bipartite graphs (fused closed form and message path)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import LEConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=12, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, weighted=True) for n in (5, 8)])


def _check(g: Graph, dtype: torch.dtype, weighted: bool, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = LEConv(6, 4), pnn.LEConv(6, 4)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["w"] if weighted else None),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["w"] if weighted else None))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("weighted", [False, True])
def test_le_matches_pyg(weighted: bool, kind: str, dtype: torch.dtype) -> None:
    _check(_graph(kind, dtype), dtype, weighted)


def test_le_message_path_torch_backend_and_bipartite_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check(g, torch.float64, True, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check(g, torch.float64, True)
    pnn = require_peer("torch_geometric").nn
    xs, xd = torch.randn(10, 6, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    assert_matches_pyg(LEConv((6, 5), 3), pnn.LEConv((6, 5), 3), Graph(edge_index=ei, num_nodes=10),
                       inputs={"x": (xs, xd)}, call=lambda m, k: m(k["x"], ei), pyg_call=lambda m, k: m(k["x"], ei))
