"""GatedGraphConv against PyG on random and batched graphs (sum, mean and max aggregation, edge weights)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import GatedGraphConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 5, seed=14, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 5, seed=n, dtype=dtype, weighted=True) for n in (6, 7)])


def _check(aggr: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = GatedGraphConv(7, 3, aggr=aggr), pnn.GatedGraphConv(7, 3, aggr=aggr)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["w"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["w"]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("aggr", ["add", "mean", "max"])
def test_gated_graph_conv_matches_pyg(aggr: str, kind: str, dtype: torch.dtype) -> None:
    _check(aggr, _graph(kind, dtype), dtype)


def test_gated_graph_conv_message_path_torch_backend_and_bad_width() -> None:
    g = _graph("random", torch.float64)
    _check("add", g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check("mean", g, torch.float64)
    with pytest.raises(ValueError, match="more than out_channels"):
        GatedGraphConv(3, 1)(torch.randn(4, 5), torch.tensor([[0], [1]]))
