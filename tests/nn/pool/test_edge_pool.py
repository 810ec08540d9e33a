"""EdgePooling against PyG: the contraction, its scores and gradients, unpooling, and the parallel matching."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn.pool import EdgePooling
from graphkit.nn.pool.edge_pool import greedy_edge_matching
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("method", ["softmax", "tanh", "sigmoid"])
def test_edge_pooling_matches_pyg(dtype, method, pool_batch, same_tuple) -> None:
    pyg = require_peer("torch_geometric")
    b = pool_batch(dtype)
    outs = {}

    def run(side):
        def call(m, kw):
            x, ei, batch, info = m(kw["x"], b.edge_index, b.batch)
            outs[side] = (x, ei, batch, *info, *m.unpool(x, info))
            return x
        return call

    ours = EdgePooling(5, getattr(EdgePooling, f"compute_edge_score_{method}"), add_to_edge_score=0.3)
    theirs = pyg.nn.EdgePooling(5, getattr(pyg.nn.EdgePooling, f"compute_edge_score_{method}"), add_to_edge_score=0.3)
    assert_matches_pyg(ours, theirs, b, call=run("ours"), pyg_call=run("pyg"), dtype=dtype)
    same_tuple(outs["ours"], outs["pyg"], dtype)


def test_matching_equals_the_sequential_greedy() -> None:
    gen = torch.Generator().manual_seed(0)
    path = torch.stack([torch.arange(299), torch.arange(1, 300)])
    cases = [(torch.randint(0, n, (2, e), generator=gen), torch.rand(e, generator=gen, dtype=torch.float64), n)
             for n, e in [(30, 80), (50, 40), (8, 60)]]
    # Scores rising along a path: one edge per round, so the sequential finish takes over.
    cases.append((path, torch.arange(299, dtype=torch.float64), 300))
    for ei, score, n in cases:
        taken, expected = set(), []
        for i in torch.sort(score, descending=True).indices.tolist():
            s, t = ei[:, i].tolist()
            if s not in taken and t not in taken:
                expected.append(i)
                taken |= {s, t}
        assert greedy_edge_matching(ei, score, n).tolist() == expected


def test_graph_call_gives_a_valid_batch(pool_batch) -> None:
    b = pool_batch()
    out = EdgePooling(5).double()(b.x, b)
    g = out.graph
    assert g.num_graphs == b.num_graphs and g.num_nodes == out.x.size(0)
    assert sorted(g.batch.tolist()) == g.batch.tolist() == sorted(out.batch.tolist())
    torch.testing.assert_close(g.x.sum(0), out.x.sum(0))
    assert sum(p.num_edges for p in g.to_graphs()) == out.edge_index.size(1)
