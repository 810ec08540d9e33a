"""ClusterGCNConv against PyG on random and batched graphs (self-loops in the input are replaced)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import ClusterGCNConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype, one_loop_each: bool = False) -> Graph:
    def make(n: int, e: int, seed: int) -> Graph:
        g = random_graph(n, e, 6, seed=seed, dtype=dtype, self_loops=not one_loop_each)
        if one_loop_each:  # PyG's add_self_loops=False path only runs when every node has one loop, in order
            loops = torch.arange(n).repeat(2, 1)
            g = Graph(x=g.x, edge_index=torch.cat([g.edge_index, loops], dim=1))
        return g

    if kind == "random":
        return make(20, 70, 13)
    return Batch.from_graphs([make(n, 3 * n, n) for n in (5, 1, 8)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = ClusterGCNConv(6, 4, **kw), pnn.ClusterGCNConv(6, 4, **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, dtype=dtype, call=lambda m, k: m(k["x"], adj),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"diag_lambda": 0.7}, {"add_self_loops": False, "bias": False}],
                         ids=["plain", "diag", "noloops"])
def test_cluster_gcn_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(kw, _graph(kind, dtype, one_loop_each=not kw.get("add_self_loops", True)), dtype)


def test_cluster_gcn_message_path_and_torch_backend_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({"diag_lambda": 0.3}, g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check({}, g, torch.float64)
