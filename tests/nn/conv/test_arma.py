"""ARMAConv against PyG on random and batched graphs (stacks, layers, shared weights, lazy size)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import ARMAConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=15, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, weighted=True) for n in (5, 8)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True, lazy: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = ARMAConv(-1 if lazy else 6, 4, **kw), pnn.ARMAConv(6, 4, **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["w"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["w"]))


CASES = {"one": {}, "stacks": {"num_stacks": 3, "num_layers": 3},
         "shared": {"num_stacks": 2, "num_layers": 3, "shared_weights": True, "bias": False}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_arma_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(CASES[case], _graph(kind, dtype), dtype)


def test_arma_message_path_torch_backend_and_lazy_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check(CASES["stacks"], g, torch.float64, adj=g.edge_index, fuse=False)
    _check(CASES["shared"], g, torch.float64, lazy=True)
    with use_backend("torch"):
        _check(CASES["stacks"], g, torch.float64)
