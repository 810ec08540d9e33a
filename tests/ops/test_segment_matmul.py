"""segment_matmul and relation_spmm: hypothesis against plain-torch references (per-segment mm; per-relation masked
aggregation then matmul), on the compiled kernels and the torch fallback; float64 gradcheck of x and weight;
torch.compile through the fake kernel; bad input named in a subprocess (Python face and the C++ checks)."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkit.ops import ext_available, relation_spmm, segment_matmul, use_backend
from graphkit.testing import assert_raises_in_subprocess

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)
BACKENDS = ["ext", "torch"]


def _reference(x: torch.Tensor, sizes: list, weight: torch.Tensor) -> torch.Tensor:
    parts = [xs @ weight[s] for s, xs in enumerate(x.split(sizes))]
    return torch.cat(parts) if parts else x.new_zeros(0, weight.size(2))


@st.composite
def segments(draw):
    sizes = draw(st.lists(st.integers(0, 7), min_size=1, max_size=6))
    f_in, f_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    return sizes, f_in, f_out, seed


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=segments(), int32=st.booleans())
def test_segment_matmul_matches_reference(backend: str, data, int32: bool) -> None:
    sizes, f_in, f_out, seed = data
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(sizes), f_in, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(len(sizes), f_in, f_out, generator=gen, dtype=torch.float64, requires_grad=True)
    ptr = torch.tensor([0] + sizes).cumsum(0).to(torch.int32 if int32 else torch.int64)
    with use_backend(backend):
        out = segment_matmul(x, ptr, w)
        g = torch.randn(out.shape, generator=gen, dtype=torch.float64)
        gx, gw = torch.autograd.grad(out, (x, w), g)
    ref = _reference(x, sizes, w)
    rgx, rgw = torch.autograd.grad(ref, (x, w), g)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(gx, rgx, atol=1e-12, rtol=0)
    torch.testing.assert_close(gw, rgw, atol=1e-12, rtol=0)  # an empty segment's weight gets exactly 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_segment_matmul_gradcheck(backend: str) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    ptr = torch.tensor([0, 4, 4, 5, 9])
    with use_backend(backend):
        assert torch.autograd.gradcheck(lambda a, b: segment_matmul(a, ptr, b), (x, w))


def _relation_reference(ei, x, et, weight, reduce, num_nodes):
    """One masked aggregation per relation, then its matmul (PyG RGCNConv's loop, in plain torch)."""
    out = weight.new_zeros(num_nodes, weight.size(-1) if weight.dim() == 3 else weight.size(1) * weight.size(3))
    for r in range(weight.size(0)):
        m = et == r
        src, dst = ei[0, m], ei[1, m]
        msg = x[src] if x is not None else weight[r][src]  # featureless: rows of W_r are the messages (PyG)
        agg = torch.zeros(num_nodes, msg.size(1), dtype=msg.dtype)
        if reduce == "sum":
            agg = agg.index_add(0, dst, msg)
        else:
            agg = agg.index_reduce(0, dst, msg, {"mean": "mean", "max": "amax", "min": "amin"}[reduce],
                                   include_self=False)
        if x is None:
            out = out + agg
        elif weight.dim() == 3:
            out = out + agg @ weight[r]
        else:
            nb, bi = weight.size(1), weight.size(2)
            out = out + torch.einsum("nbi,bio->nbo", agg.view(-1, nb, bi), weight[r]).reshape(num_nodes, -1)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(n=st.integers(1, 9), e=st.integers(0, 30), r=st.integers(1, 4), reduce=st.sampled_from(["sum", "mean", "max",
       "min"]), mode=st.sampled_from(["dense", "blocks", "featureless"]), seed=st.integers(0, 2**16))
def test_relation_spmm_matches_per_relation_loop(backend, n, e, r, reduce, mode, seed) -> None:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    et = torch.randint(0, r, (e,), generator=gen)
    x = None if mode == "featureless" else torch.randn(n, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    shape = (r, 2, 2, 3) if mode == "blocks" else (r, n if x is None else 4, 3)
    w = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    with use_backend(backend):
        out = relation_spmm(ei, x, et, w, reduce=reduce, num_nodes=n)
    ref = _relation_reference(ei, x, et, w, reduce, n)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    leaves = [t for t in (x, w) if t is not None]
    g = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad(out, leaves, g), torch.autograd.grad(ref, leaves, g)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_relation_spmm_gradcheck() -> None:
    gen = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 6, (2, 20), generator=gen)
    et = torch.randint(0, 3, (20,), generator=gen)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: relation_spmm(ei, a, et, b), (x, w))


def test_segment_matmul_compiles_through_fake_kernel() -> None:
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(7, 3, generator=gen, requires_grad=True)
    w = torch.randn(2, 3, 4, generator=gen, requires_grad=True)
    ptr = torch.tensor([0, 3, 7])
    f = torch.compile(lambda a, b: segment_matmul(a, ptr, b), backend="aot_eager", fullgraph=True)
    out = f(x, w)
    torch.testing.assert_close(out, _reference(x, [3, 4], w))
    out.sum().backward()
    assert x.grad is not None and w.grad is not None


PRE = "import torch\nfrom graphkit import ops\nx = torch.randn(5, 3)\nw = torch.randn(2, 3, 4)\n"
CASES = [
    ("ops.segment_matmul(x, torch.tensor([0, 2, 6]), w)", "ValueError", "ptr[2] is 6 but x has 5 rows"),
    ("ops.segment_matmul(x, torch.tensor([1, 2, 5]), w)", "ValueError", "ptr[0] is 1 but must be 0"),
    ("ops.segment_matmul(x, torch.tensor([0, 4, 3, 5]), torch.randn(3, 3, 4))", "ValueError",
     "ptr[2] is 3 but ptr[1] is 4"),
    ("ops.segment_matmul(x, torch.tensor([0, 5]), w)", "ValueError", "weight must have shape [1, 3, F_out]"),
    ("ops.segment_matmul(x, torch.tensor([0., 2., 5.]), w)", "TypeError", "ptr must be an int64 or int32"),
    ("ops.segment_matmul(x, torch.tensor([0, 2, 5]), w.double())", "TypeError", "weight has dtype"),
    ("ops.relation_spmm(torch.tensor([[0, 1], [2, 3]]), x, torch.tensor([0, 2]), w)", "ValueError",
     "edge_type has index 2 but num_relations is 2"),
    ("ops.relation_spmm(torch.tensor([[0, 1], [2, 7]]), x, torch.tensor([0, 1]), w)", "ValueError",
     "edge_index[1] has index 7"),
    ("ops.relation_spmm(torch.tensor([[0, 1], [2, 3]]), torch.tensor([0, 9, 1, 2, 2]), torch.tensor([0, 1]), w)",
     "ValueError", "x has index 9 but in_channels is 3"),
]
EXT = "from graphkit.ops import _kernels\n"  # the C++ checks, reached without the Python face
EXT_CASES = [
    ("torch.ops.graphkit.segment_matmul(x, torch.tensor([0, 2, 6]), w)", "ValueError", "ptr[2] is 6 but x has 5 rows"),
    ("torch.ops.graphkit.segment_matmul(x, torch.tensor([0, 4, 2]), w)", "ValueError", "ptr[2] is 2 but ptr[1] is 4"),
    ("torch.ops.graphkit.segment_matmul(x, torch.tensor([0, 5]), w)", "ValueError", "weight has 2 segments but ptr has 1"),
    ("torch.ops.graphkit.segment_matmul_wgrad(x, torch.tensor([0, 2, 5]), torch.randn(4, 2))", "ValueError",
     "grad must have shape [5, F_out]"),
]


@pytest.mark.parametrize("code,exc,match", CASES, ids=[c[2][:30] for c in CASES])
def test_bad_input_is_named(code: str, exc: str, match: str) -> None:
    assert_raises_in_subprocess(PRE + code, exc, match)


@pytest.mark.parametrize("code,exc,match", EXT_CASES, ids=[c[2][:30] for c in EXT_CASES])
def test_compiled_checks(code: str, exc: str, match: str) -> None:
    if not ext_available():
        pytest.skip("graphkit._C is not built")
    assert_raises_in_subprocess(PRE + EXT + code, exc, match)
