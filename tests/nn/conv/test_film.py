"""FiLMConv against PyG on random, batched and bipartite graphs, with one and several relations."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import FiLMConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    graphs = [random_graph(20, 70, 6, seed=18, dtype=dtype)] if kind == "random" else [
        random_graph(n, 3 * n, 6, seed=n, dtype=dtype) for n in (5, 8)]
    for g in graphs:
        g.set("edge_type", torch.randint(0, 3, (g.num_edges,)), "edge")
    return graphs[0] if kind == "random" else Batch.from_graphs(graphs)


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = FiLMConv(6, 4, **copy.deepcopy(kw)), pnn.FiLMConv(6, 4, **copy.deepcopy(kw))
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, dtype=dtype, call=lambda m, k: m(k["x"], adj, g.edge_type),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, g.edge_type))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("kw", [{}, {"num_relations": 3, "aggr": "sum"},
                                {"num_relations": 3, "nn": torch.nn.Linear(6, 8), "act": None}],
                         ids=["one", "three", "custom_nn"])
def test_film_matches_pyg(kw: dict, kind: str, dtype: torch.dtype) -> None:
    _check(kw, _graph(kind, dtype), dtype)


def test_film_edge_index_torch_backend_and_bipartite_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check({"num_relations": 3}, g, torch.float64, adj=g.edge_index)
    with use_backend("torch"):
        _check({"aggr": "max"}, g, torch.float64)
    pnn = require_peer("torch_geometric").nn
    xs, xd = torch.randn(10, 6, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 10, (25,)), torch.randint(0, 4, (25,))])
    assert_matches_pyg(FiLMConv((6, 5), 3), pnn.FiLMConv((6, 5), 3), Graph(edge_index=ei, num_nodes=10),
                       inputs={"x": (xs, xd)}, call=lambda m, k: m(k["x"], ei), pyg_call=lambda m, k: m(k["x"], ei))
    with pytest.raises(ValueError, match="needs edge_type"):
        FiLMConv(6, 4, num_relations=2)(g.x.float(), g)
