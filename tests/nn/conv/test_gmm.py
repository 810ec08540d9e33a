"""GMMConv against PyG on random, batched and bipartite graphs (shared and separate gaussians, lazy size)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import GMMConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=21, dtype=dtype, edge_dim=2)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, edge_dim=2) for n in (5, 8)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True, lazy: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = GMMConv(-1 if lazy else 6, 4, dim=2, kernel_size=3, **kw), pnn.GMMConv(6, 4, dim=2, kernel_size=3,
                                                                                          **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["e"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["e"]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"aggr": "add", "bias": False}, {"separate_gaussians": True},
                                {"aggr": "max"}], ids=["mean", "add", "separate", "max"])
def test_gmm_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(kw, _graph(kind, dtype), dtype)


def test_gmm_message_path_torch_backend_lazy_and_bipartite_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({}, g, torch.float64, adj=g.edge_index, fuse=False)
    _check({"separate_gaussians": True}, g, torch.float64, lazy=True)
    with use_backend("torch"):
        _check({"aggr": "add"}, g, torch.float64)
    pnn = require_peer("torch_geometric").nn
    xs, xd = torch.randn(10, 6, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    ea = torch.rand(25, 2, dtype=torch.float64)
    assert_matches_pyg(GMMConv((6, 5), 3, 2, 4), pnn.GMMConv((6, 5), 3, 2, 4), Graph(edge_index=ei, num_nodes=10),
                       inputs={"x": (xs, xd), "e": ea}, call=lambda m, k: m(k["x"], ei, k["e"]),
                       pyg_call=lambda m, k: m(k["x"], ei, k["e"]))


def test_gmm_without_root_weight_is_the_mixture_alone() -> None:
    # PyG's GMMConv(root_weight=False) fails in forward (no `root` attribute), so compare with our own pieces.
    g = _graph("random", torch.float64)
    with_root = GMMConv(6, 4, 2, 3, bias=False).double()
    without = GMMConv(6, 4, 2, 3, root_weight=False, bias=False).double()
    without.load_state_dict({k: v for k, v in with_root.state_dict().items() if not k.startswith("root")})
    torch.testing.assert_close(without(g.x, g, g.edge_attr) + with_root.root(g.x), with_root(g.x, g, g.edge_attr))
