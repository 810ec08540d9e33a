"""NNConv against PyG: state_dict, output and gradients (x, edge_attr, the edge network) on random, batched and
bipartite graphs."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import NNConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _edge_net(fin: int, fout: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, fin * fout))


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 80, 6, seed=4, dtype=dtype, edge_dim=3)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, edge_dim=3) for n in (5, 8, 1)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    net = _edge_net(6, 4)
    ours, theirs = NNConv(6, 4, copy.deepcopy(net), **kw), pnn.NNConv(6, 4, copy.deepcopy(net), **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr}, dtype=dtype,
                       call=lambda m, k: m(k["x"], adj, k["e"]),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, k["e"]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"aggr": "mean"}, {"aggr": "max", "root_weight": False, "bias": False}],
                         ids=["add", "mean", "max_noroot"])
def test_nn_conv_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(kw, _graph(kind, dtype), dtype)


def test_nn_conv_edge_index_and_torch_backend_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({"aggr": "mean"}, g, torch.float64, adj=g.edge_index, fuse=False)
    _check({"aggr": "mean"}, g, torch.float64, adj=g.edge_index)
    with use_backend("torch"):
        _check({}, g, torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_nn_conv_bipartite_matches_pyg(dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(5)
    xs, xd = torch.randn(12, 6, generator=gen), torch.randn(5, 3, generator=gen)
    ei = torch.stack([torch.randint(0, 12, (30,), generator=gen), torch.randint(0, 5, (30,), generator=gen)])
    ea = torch.randn(30, 3, generator=gen)
    net = _edge_net(6, 4)
    ours, theirs = NNConv((6, 3), 4, copy.deepcopy(net)), pnn.NNConv((6, 3), 4, copy.deepcopy(net))
    assert_matches_pyg(ours, theirs, Graph(edge_index=ei, num_nodes=12), inputs={"x": (xs, xd), "e": ea},
                       dtype=dtype, call=lambda m, k: m(k["x"], ei, k["e"]),
                       pyg_call=lambda m, k: m(k["x"], ei, k["e"]))


def test_nn_conv_needs_edge_attr() -> None:
    with pytest.raises(ValueError, match="edge_attr"):
        NNConv(6, 4, _edge_net(6, 4))(torch.randn(3, 6), torch.tensor([[0], [1]]))
