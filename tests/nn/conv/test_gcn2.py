"""GCN2Conv against PyG: state_dict, output and gradients (x and x_0) on random and batched graphs."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import GCN2Conv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer

CASES: Dict[str, Dict[str, Any]] = {
    "shared": dict(alpha=0.1),
    "beta": dict(alpha=0.2, theta=0.5, layer=3),
    "separate": dict(alpha=0.3, theta=1.0, layer=2, shared_weights=False),
    "no_loops": dict(alpha=0.1, add_self_loops=False),
    "no_norm": dict(alpha=0.1, normalize=False, add_self_loops=False),
}


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 80, 6, seed=2, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, weighted=True) for n in (4, 9, 2)])


def _check(case: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = GCN2Conv(6, **CASES[case]), pnn.GCN2Conv(6, **CASES[case])
    ours.fuse = fuse
    adj = g if adj is None else adj
    x0 = torch.randn(g.num_nodes, 6, dtype=dtype)
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "x0": x0, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, kw: m(kw["x"], kw["x0"], adj, kw["w"]),
                       pyg_call=lambda m, kw: m(kw["x"], kw["x0"], g.edge_index, kw["w"]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_gcn2_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(case, _graph(kind, dtype), dtype)


def test_gcn2_message_path_torch_backend_and_cache_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check("beta", g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check("separate", g, torch.float64)
    pnn = require_peer("torch_geometric").nn
    ours, theirs = GCN2Conv(6, 0.1, cached=True).double(), pnn.GCN2Conv(6, 0.1, cached=True).double()
    ours.load_state_dict(theirs.state_dict())
    for _ in range(2):
        torch.testing.assert_close(ours(g.x, g.x, g), theirs(g.x, g.x, g.edge_index), atol=1e-10, rtol=0)
