"""graphkit.ops.reorder: a relabelling that keeps the graph (isomorphic, fields moved along)."""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit import ops


@pytest.mark.parametrize("method", ["rcm", "degree"])
def test_reorder_is_a_relabelling(method):
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 40, (2, 150), generator=gen)
    g = Graph(x=torch.randn(40, 3, generator=gen, dtype=torch.float64), edge_index=ei, num_nodes=40)
    g2, perm = ops.reorder(g, method)
    assert torch.equal(torch.sort(perm).values, torch.arange(40))
    assert torch.equal(g2.x, g.x[perm])
    # SpMM commutes with the relabelling: out2[i] == out[perm[i]]
    torch.testing.assert_close(ops.spmm(g2, g2.x), ops.spmm(g, g.x)[perm])


def test_rcm_narrows_bandwidth():
    # a path graph with shuffled labels: RCM recovers a band of width 1
    n = 50
    order = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    ei = torch.stack([order[:-1], order[1:]])
    g2, _ = ops.reorder(Graph(edge_index=ei, num_nodes=n), "rcm")
    assert int((g2.edge_index[0] - g2.edge_index[1]).abs().max()) == 1
    assert int((ei[0] - ei[1]).abs().max()) > 1


def test_bad_method():
    with pytest.raises(ValueError, match="method must be"):
        ops.reorder(Graph(edge_index=torch.tensor([[0], [1]])), "metis")
