"""ClusterGCNConv against PyG on random and batched graphs (self-loops in the input are replaced)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import ClusterGCNConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=13, dtype=dtype)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype) for n in (5, 1, 8)])


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
    _check(kw, _graph(kind, dtype), dtype)


def test_cluster_gcn_message_path_and_torch_backend_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({"diag_lambda": 0.3}, g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check({}, g, torch.float64)
