"""graphkit.ops.linear (a layer's dense map with bias and ReLU, results on reused huge pages) against plain torch,
float64 gradcheck and double backward; and Adjacency.kernel_weights (constant edge weights kept in the kernels'
walk order) against the unordered read, including its invalidation."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphkit import Graph, ops
from graphkit.ops import use_backend
from graphkit.ops.linear import linear


def _enter(backend: str):
    if backend == "ext" and not ops.ext_available():
        pytest.skip("graphkit._C is not built")
    return use_backend(backend)


def _plain(x, w, b, act):
    out = F.linear(x, w, b)
    return torch.relu(out) if act == "relu" else out


@pytest.mark.parametrize("backend", ["ext", "torch"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("act", [None, "relu"])
@pytest.mark.parametrize("rows", [7, 40_000])  # 40k x 33 float64: a result over the huge-page threshold (8 MB)
def test_linear_matches_plain_torch(backend, bias, act, rows):
    gen = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 19, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(33, 19, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(33, dtype=torch.float64, generator=gen, requires_grad=True) if bias else None
    grad = torch.randn(rows, 33, dtype=torch.float64, generator=gen)
    with _enter(backend):
        out = linear(x, w, b, act)
        got = torch.autograd.grad(out, [x, w] + ([b] if bias else []), grad)
    want_out = _plain(x, w, b, act)
    want = torch.autograd.grad(want_out, [x, w] + ([b] if bias else []), grad)
    torch.testing.assert_close(out, want_out, rtol=1e-12, atol=1e-12)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["ext", "torch"])
def test_linear_gradcheck_and_double_backward(backend):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(5, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, generator=gen, requires_grad=True)
    with _enter(backend):
        for act in (None, "relu"):
            assert torch.autograd.gradcheck(lambda x, w, b: linear(x, w, b, act), (x, w, b))
            assert torch.autograd.gradgradcheck(lambda x, w, b: linear(x, w, b, act), (x, w, b))


def test_linear_first_layer_computes_no_input_gradient():
    # x without requires_grad (a first layer's features): the backward must not form dX (no N x F_in product)
    x = torch.randn(5, 3, dtype=torch.float64)
    w = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    linear(x, w, None, "relu").sum().backward()
    torch.testing.assert_close(w.grad, ((x @ w.detach().t()) > 0).to(x.dtype).t() @ x)


def test_linear_other_layouts_fall_back():
    x = torch.randn(2, 3, 4, dtype=torch.float64)  # 3-D: F.linear
    w = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(linear(x, w, None, "relu"), torch.relu(F.linear(x, w)))


@pytest.mark.parametrize("call,match", [
    ("linear(torch.randn(3, 4), torch.randn(5, 4), act='gelu')", "act must be None or 'relu', got 'gelu'"),
    ("linear(torch.randn(3, 4), torch.randn(5, 3))", r"weight must have shape \[F_out, 4\]"),
    ("linear(torch.randn(3, 4), torch.randn(5, 4), torch.randn(4))", r"bias must have shape \[5\], got \[4\]"),
])
def test_linear_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        eval(call)


# ------------------------------------------------------------------------------------------- kernel_weights
def _graph(n: int = 30, e: int = 200, seed: int = 0) -> Graph:
    ei = torch.randint(0, n, (2, e), generator=torch.Generator().manual_seed(seed))
    return Graph(edge_index=ei, num_nodes=n)


def _plain_spmm(ei, x, w, n):
    return x.new_zeros(n, x.size(1)).index_add(0, ei[1], x[ei[0]] * w.view(-1, 1))


@pytest.mark.parametrize("backend", ["ext", "torch"])
def test_constant_weights_are_permuted_once_and_stay_right(backend):
    g = _graph()
    ei = g.edge_index
    x = torch.randn(30, 8, dtype=torch.float64, requires_grad=True)
    w = torch.rand(200, dtype=torch.float64)
    with _enter(backend):
        for _ in range(2):  # the second call reads the kept copy
            out = ops.spmm(g, x, w)
            torch.testing.assert_close(out, _plain_spmm(ei, x, w, 30))
            gx, = torch.autograd.grad(out, x, torch.ones_like(out))
            torch.testing.assert_close(gx, torch.autograd.grad(_plain_spmm(ei, x, w, 30), x, torch.ones_like(out))[0])
        eid, kept = g.adj.kernel_weights(w.view(-1, 1))
        assert eid is None and g.adj.kernel_weights(w.view(-1, 1))[1] is kept  # one copy, found through a new view
        w.mul_(2.0)  # an in-place edit bumps the version counter: the copy is rebuilt
        torch.testing.assert_close(ops.spmm(g, x, w), _plain_spmm(ei, x, w, 30))
        w.data.mul_(3.0)  # writes the version counter misses: through .data and through numpy
        torch.testing.assert_close(ops.spmm(g, x, w), _plain_spmm(ei, x, w, 30))
        w.numpy()[:5] = 7.0
        torch.testing.assert_close(ops.spmm(g, x, w), _plain_spmm(ei, x, w, 30))
        base = torch.rand(400, dtype=torch.float64)  # two slices of one base are two different weights
        for part in (base[:200], base[200:]):
            torch.testing.assert_close(ops.spmm(g, x, part), _plain_spmm(ei, x, part, 30))
        w2 = torch.rand(200, dtype=torch.float64, requires_grad=True)  # a learned weight is never kept
        assert g.adj.kernel_weights(w2.view(-1, 1))[0] is not None
        out = ops.spmm(g, x, w2)
        gw, = torch.autograd.grad(out.sum(), w2)
        torch.testing.assert_close(gw, torch.autograd.grad(_plain_spmm(ei, x, w2, 30).sum(), w2)[0])


def test_kernel_weights_without_permutation_or_weights():
    ei = torch.tensor([[2, 0, 1, 1], [0, 0, 1, 2]])  # already grouped by target: csr_eid() is None
    g = Graph(edge_index=ei, num_nodes=3)
    w = torch.rand(4, 1)
    assert g.adj.kernel_weights(w) == (None, w)
    assert g.adj.kernel_weights(None) == (None, None)
    assert g.adj.kernel_weights(None, transpose=True) == (None, None)


def test_linear_under_autocast_is_f_linear():
    """Autocast chooses the product's dtype; ``linear`` defers to ``F.linear`` there instead of ignoring it."""
    x, w, b = torch.randn(6, 4), torch.randn(3, 4), torch.randn(3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, ref = linear(x, w, b, act="relu"), torch.relu(F.linear(x, w, b))
    assert out.dtype == ref.dtype == torch.bfloat16
    torch.testing.assert_close(out, ref)
