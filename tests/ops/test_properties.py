"""Property tests: every op against graphkit.testing.reference on random graphs, both backends.

Graphs include empty rows, a hub (a node with most of the edges), self-loops, duplicate edges, zero edges,
int32 indices and non-contiguous inputs.
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkit.testing.reference as ref
from graphkit import Graph
from graphkit import ops
from graphkit.ops import use_backend

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)
BACKENDS = ["ext", "torch"]


def _enter(backend: str):
    if backend == "ext" and not ops.ext_available():
        pytest.skip("graphkit._C is not built")
    return use_backend(backend)


@st.composite
def edge_sets(draw, max_nodes: int = 10, max_edges: int = 40):
    n = draw(st.integers(1, max_nodes))
    e = draw(st.integers(0, max_edges))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    ei = torch.randint(0, n, (2, e), generator=gen)
    if draw(st.booleans()) and e:  # a hub: most edges go into node 0
        ei[1, : (3 * e) // 4] = 0
    if draw(st.booleans()) and e:  # duplicates and a self-loop
        ei[:, -1] = ei[:, 0]
        ei[0, e // 2] = ei[1, e // 2]
    return n, ei, gen


def _noncontig(t: torch.Tensor) -> torch.Tensor:
    """Same values, non-contiguous storage (every other column of a wider tensor)."""
    wide = torch.stack([t, torch.full_like(t, 7.0)], dim=-1).flatten(-2)
    out = wide[..., ::2]
    assert not out.is_contiguous() or out.numel() <= 1
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@SETTINGS
@given(data=edge_sets(), weighted=st.booleans(), as_graph=st.booleans(), int32=st.booleans(), f=st.integers(1, 5))
def test_spmm_matches_reference(backend, reduce, data, weighted, as_graph, int32, f):
    n, ei, gen = data
    x = _noncontig(torch.randn(n, f, generator=gen, dtype=torch.float64))
    w = torch.randn(ei.size(1), generator=gen, dtype=torch.float64) if weighted else None
    adj = Graph(edge_index=ei, num_nodes=n) if as_graph else (ei.int() if int32 else ei)
    with _enter(backend):
        out = ops.spmm(adj, x, w, reduce)
    torch.testing.assert_close(out, ref.spmm(ei, x, w, reduce), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@SETTINGS
@given(data=edge_sets(), heads=st.integers(1, 3))
def test_spmm_heads_float32(backend, reduce, data, heads):
    n, ei, gen = data
    x = torch.randn(n, heads, 4, generator=gen)
    w = torch.rand(ei.size(1), heads, generator=gen)
    g = Graph(edge_index=ei, num_nodes=n)
    with _enter(backend):
        out = ops.spmm(g, x, w, reduce)
    torch.testing.assert_close(out, ref.spmm(ei, x, w, reduce), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@SETTINGS
@given(data=edge_sets(), dim_size_extra=st.integers(0, 3), trailing=st.sampled_from([(), (3,), (2, 2)]))
def test_scatter_and_segment(backend, reduce, data, dim_size_extra, trailing):
    n, ei, gen = data
    index = ei[1]
    src = torch.randn((index.numel(),) + trailing, generator=gen, dtype=torch.float64)
    size = n + dim_size_extra
    with _enter(backend):
        out = ops.scatter(src, index, size, reduce)
        ptr = torch.zeros(size + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(index, minlength=size), 0)
        seg = ops.segment(src[torch.sort(index, stable=True).indices], ptr, reduce)
    expect = ref.scatter(src, index, size, reduce)
    torch.testing.assert_close(out, expect, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(seg, expect, rtol=1e-10, atol=1e-10)
    if reduce in ("max", "min") and src.dim() == 1:
        with _enter(backend):
            _, arg = ops.scatter(src, index, size, reduce, return_arg=True)
        hit = arg >= 0
        torch.testing.assert_close(src[arg[hit]], expect[hit])
        assert torch.equal(index[arg[hit]], torch.arange(size)[hit])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", ["dot", "add", "mul"])
@SETTINGS
@given(data=edge_sets(), heads=st.sampled_from([0, 1, 3]))
def test_sddmm(backend, op, data, heads):
    n, ei, gen = data
    shape = (n, 4) if heads == 0 else (n, heads, 4)
    a = torch.randn(shape, generator=gen, dtype=torch.float64)
    b = _noncontig(torch.randn(shape, generator=gen, dtype=torch.float64))
    with _enter(backend):
        out = ops.sddmm(Graph(edge_index=ei, num_nodes=n), a, b, op)
        out2 = ops.sddmm(ei, a, b, op)
    expect = ref.sddmm(ei, a, b, op)
    torch.testing.assert_close(out, expect, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(out2, expect, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=edge_sets(), heads=st.sampled_from([0, 1, 2]), scale=st.sampled_from([1.0, 1e3]))
def test_edge_softmax(backend, data, heads, scale):
    n, ei, gen = data
    shape = (ei.size(1),) if heads == 0 else (ei.size(1), heads)
    s = torch.randn(shape, generator=gen, dtype=torch.float64) * scale  # large scores: stability
    with _enter(backend):
        out = ops.edge_softmax(Graph(edge_index=ei, num_nodes=n), s)
    expect = ref.edge_softmax(ei, s, n)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expect, rtol=1e-10, atol=1e-10)


def test_zero_edges_and_empty_rows(backend):
    ei = torch.empty(2, 0, dtype=torch.long)
    x = torch.randn(4, 3, dtype=torch.float64)
    for reduce in ("sum", "mean", "max", "min"):
        assert torch.equal(ops.spmm(ei, x, reduce=reduce), torch.zeros(4, 3, dtype=torch.float64))
    assert ops.sddmm(ei, x, x).shape == (0,)
    assert ops.edge_softmax(ei, torch.empty(0), num_nodes=4).shape == (0,)
    assert torch.equal(ops.scatter(torch.empty(0, 2), torch.empty(0, dtype=torch.long), 3), torch.zeros(3, 2))


def test_float32_matches_float64(backend):
    gen = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 50, (2, 400), generator=gen)
    x = torch.randn(50, 16, generator=gen, dtype=torch.float64)
    w = torch.rand(400, generator=gen, dtype=torch.float64)
    for reduce in ("sum", "mean", "max", "min"):
        out32 = ops.spmm(ei, x.float(), w.float(), reduce)
        torch.testing.assert_close(out32, ref.spmm(ei, x, w, reduce).float(), rtol=1e-5, atol=1e-5)


def test_large_features_tile(backend):
    """F beyond one accumulator tile (256) and many heads take the tiled path of the kernel."""
    gen = torch.Generator().manual_seed(2)
    ei = torch.randint(0, 30, (2, 200), generator=gen)
    x = torch.randn(30, 3, 300, generator=gen, dtype=torch.float64)
    w = torch.rand(200, 3, generator=gen, dtype=torch.float64)
    for reduce in ("sum", "max"):
        torch.testing.assert_close(ops.spmm(ei, x, w, reduce), ref.spmm(ei, x, w, reduce), rtol=1e-10, atol=1e-10)


def test_backend_reports_path():
    assert ops.backend() in ("cpu-ext", "torch")
    with use_backend("torch"):
        assert ops.backend() == "torch"
    if ops.ext_available():
        assert ops.backend() == "cpu-ext"


def test_force_torch_env(monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FORCE_TORCH", "1")  # read at call time, not import time
    assert ops.backend() == "torch"
    ei = torch.tensor([[0, 1], [1, 0]])
    torch.testing.assert_close(ops.spmm(ei, torch.eye(2)), torch.eye(2).flip(0))
