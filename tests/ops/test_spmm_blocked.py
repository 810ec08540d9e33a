"""The source-blocked CPU path of spmm (sum/mean on a Graph whose x exceeds the block size) against the reference."""
from __future__ import annotations

import sys

import pytest
import torch

import graphkit.testing.reference as ref
from graphkit import Graph, ops

# graphkit.ops re-exports the function spmm, which shadows the submodule as an attribute
S = sys.modules["graphkit.ops.spmm"]


@pytest.fixture
def small_blocks(monkeypatch):
    if not ops.ext_available():
        pytest.skip("graphkit._C is not built")
    monkeypatch.setattr(S, "_BLOCK_BYTES", 64 * 8)  # 8 float64 rows of 8 features per block: several blocks


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("weight", ["none", "edge", "heads"])
def test_blocked_matches_reference(small_blocks, reduce, weight):
    gen = torch.Generator().manual_seed(1)
    n, e = 37, 300
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei[1, :100] = 0  # a hub row, and some rows with no incoming edge
    ei[1, ei[1] == 5] = 6
    shape = (n, 2, 4) if weight == "heads" else (n, 8)
    x = torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)
    w = {"none": None, "edge": torch.randn(e, generator=gen, dtype=torch.float64),
         "heads": torch.randn(e, 2, generator=gen, dtype=torch.float64)}[weight]
    g = Graph(edge_index=ei, num_nodes=n)
    out = ops.spmm(g, x, w, reduce)
    assert any(k.startswith("in_blocked") for k in g._csr_cache), "the blocked path was not taken"
    expected = ref.spmm(ei, x, w, reduce)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    gx, = torch.autograd.grad(out.square().sum(), x)
    ex, = torch.autograd.grad(expected.square().sum(), x)
    torch.testing.assert_close(gx, ex, rtol=1e-10, atol=1e-10)


def test_blocked_cache_follows_edge_changes(small_blocks):
    gen = torch.Generator().manual_seed(2)
    n = 40
    x = torch.randn(n, 8, generator=gen, dtype=torch.float64)
    g = Graph(edge_index=torch.randint(0, n, (2, 200), generator=gen), num_nodes=n)
    ops.spmm(g, x)
    g.edge_index = torch.randint(0, n, (2, 150), generator=gen)  # a new edge set: the blocked copy must not survive
    torch.testing.assert_close(ops.spmm(g, x), ref.spmm(g.edge_index, x, None, "sum"), rtol=1e-10, atol=1e-10)
    g.edge_index[0, :10] = 3  # in place
    torch.testing.assert_close(ops.spmm(g, x), ref.spmm(g.edge_index, x, None, "sum"), rtol=1e-10, atol=1e-10)
