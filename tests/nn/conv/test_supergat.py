"""SuperGATConv against PyG: output, gradients and the self-supervised attention loss (PyG's own randomness
switched off: given negatives, every edge sampled)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import SuperGATConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 6, seed=31, dtype=dtype)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype) for n in (5, 8)])


def _check(kw: dict, g: Graph, dtype: torch.dtype, adj: Any = None, train: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = SuperGATConv(6, 4, **kw), pnn.SuperGATConv(6, 4, **kw)
    ours.train(train), theirs.train(train)
    adj = g if adj is None else adj
    neg = torch.randint(0, g.num_nodes, (2, 15))
    extra = (neg,) if train else ()
    assert_matches_pyg(ours, theirs, g, dtype=dtype, call=lambda m, k: m(k["x"], adj, *extra),
                       pyg_call=lambda m, k: m(k["x"], g.edge_index, *extra))
    if train:
        tol = 1e-10 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(ours.get_attention_loss(), theirs.get_attention_loss().to(dtype),
                                   atol=tol, rtol=tol)


CASES = {"mx": {"heads": 2}, "sd_mean": {"heads": 3, "concat": False, "attention_type": "SD"},
         "no_loops": {"add_self_loops": False, "bias": False}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_supergat_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(CASES[case], _graph(kind, dtype), dtype)


@pytest.mark.parametrize("case", sorted(CASES))
def test_supergat_training_loss_matches_pyg(case: str) -> None:
    _check(CASES[case], _graph("random", torch.float64), torch.float64, train=True)


def test_supergat_edge_index_torch_backend_and_sampled_negatives() -> None:
    g = _graph("random", torch.float64)
    _check(CASES["mx"], g, torch.float64, adj=g.edge_index)
    with use_backend("torch"):
        _check(CASES["sd_mean"], g, torch.float64)
    conv = SuperGATConv(6, 4, neg_sample_ratio=0.5).double().train()
    conv(g.x, g)
    loss = conv.get_attention_loss()
    assert loss.requires_grad and bool(torch.isfinite(loss))
    pos = int(conv.att_y.sum())
    assert conv.att_y.numel() - pos == int(0.5 * pos)  # half as many negatives as (self-looped) edges
    assert float(conv.eval().get_attention_loss()) == 0.0
