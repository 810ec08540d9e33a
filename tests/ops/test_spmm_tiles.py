"""The CPU csr_reduce's register tiles: every feature width splits into tiles of 8, 4, 2 and 1 vectors (32 bytes
each) and a scalar tail, per head when weights are per head. Widths are picked so that each tile size and the tail
occur, alone and together, in float32 (8 per vector) and float64 (4 per vector), for every reduce."""
from __future__ import annotations

import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkit.testing.reference as ref
from graphkit import Graph, ops

# float32 tiles: 64, 32, 16, 8 elements; float64: 32, 16, 8, 4
WIDTHS = [1, 3, 4, 7, 8, 12, 15, 16, 24, 31, 32, 33, 56, 63, 64, 65, 100, 129]


@pytest.fixture(autouse=True)
def needs_ext():
    if not ops.ext_available():
        pytest.skip("graphkit._C is not built")


def _case(draw, dtype: torch.dtype):
    n = draw(st.integers(1, 30))
    e = draw(st.integers(0, 120))
    width = draw(st.sampled_from(WIDTHS))
    heads = draw(st.integers(1, 3))
    weight = draw(st.sampled_from(["none", "edge", "heads"]))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    ei = torch.randint(0, n, (2, e), generator=gen)
    if e and draw(st.booleans()):  # a hub
        ei[1, : (2 * e) // 3] = 0
    x = torch.randn(n, heads, width, generator=gen, dtype=dtype)
    w = {"none": None, "edge": torch.randn(e, generator=gen, dtype=dtype),
         "heads": torch.randn(e, heads, generator=gen, dtype=dtype)}[weight]
    return ei, n, x, w


def _check(ei, n, x, w, reduce):
    out = ops.spmm(Graph(edge_index=ei, num_nodes=n), x, w, reduce)
    expected = ref.spmm(ei, x.double(), None if w is None else w.double(), reduce).to(x.dtype)
    tol = 1e-10 if x.dtype == torch.float64 else 1e-5
    torch.testing.assert_close(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data())
def test_tiles_match_reference(data, dtype, reduce):
    ei, n, x, w = _case(data.draw, dtype)
    _check(ei, n, x, w, reduce)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_width_float32_and_gradients(width):
    gen = torch.Generator().manual_seed(width)
    n, e = 23, 150
    ei = torch.randint(0, n, (2, e), generator=gen)
    x = torch.randn(n, width, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(e, generator=gen, dtype=torch.float64, requires_grad=True)
    for reduce in ("mean", "max"):
        _check(ei, n, x.detach().float(), w.detach().float(), reduce)
    for reduce in ("sum", "min"):
        out = ops.spmm(Graph(edge_index=ei, num_nodes=n), x, w, reduce)
        expected = ref.spmm(ei, x, w, reduce)
        grads = torch.autograd.grad(out.sin().sum(), (x, w))
        expected_grads = torch.autograd.grad(expected.sin().sum(), (x, w))
        for got, want in zip(grads, expected_grads):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


GENERIC = """
import torch
import graphkit.testing.reference as ref
from graphkit import Graph, ops
gen = torch.Generator().manual_seed(3)
for width in (3, 8, 13, 40, 77):
    for dtype in (torch.float32, torch.float64):
        n, e = 17, 90
        ei = torch.randint(0, n, (2, e), generator=gen)
        x = torch.randn(n, 2, width, generator=gen, dtype=dtype)
        for w in (None, torch.randn(e, 2, generator=gen, dtype=dtype)):
            for reduce in ("sum", "mean", "max", "min"):
                out = ops.spmm(Graph(edge_index=ei, num_nodes=n), x, w, reduce)
                want = ref.spmm(ei, x.double(), None if w is None else w.double(), reduce).to(dtype)
                tol = 1e-10 if dtype == torch.float64 else 1e-5
                torch.testing.assert_close(out, want, rtol=tol, atol=tol)
print("generic ok")
"""


def test_generic_isa_entry_points():
    """GRAPHKIT_CPU_ISA=generic runs the baseline-ISA build of the same loops (what a CPU without AVX2 gets)."""
    import os
    import subprocess

    env = dict(os.environ, GRAPHKIT_CPU_ISA="generic")
    res = subprocess.run([sys.executable, "-c", GENERIC], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "generic ok" in res.stdout, res.stderr[-2000:]
