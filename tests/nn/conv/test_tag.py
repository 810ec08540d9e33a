"""TAGConv against PyG: state_dict, output and gradients on random and batched graphs."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import TAGConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 80, 6, seed=3, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, weighted=True) for n in (6, 3)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = TAGConv(kw.pop("in", 6), 4, **kw), pnn.TAGConv(6, 4, **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["w"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["w"]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"K": 1, "bias": False}, {"K": 2, "normalize": False}], ids=["K3", "K1", "raw"])
def test_tag_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(dict(kw), _graph(kind, dtype), dtype)


def test_tag_message_path_torch_backend_and_lazy_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({}, g, torch.float64, adj=g.edge_index, fuse=False)
    _check({"in": -1}, g, torch.float64)
    with use_backend("torch"):
        _check({"K": 2}, g, torch.float64)
