"""Every CUDA kernel against the CPU extension on the edge cases of the CUDA review (graphkit.testing.cuda_cases):
hubs past the split threshold, empty rows, E = 0, N = 0, feature tails, heads, int32/int64, fp16/bf16, NaN."""
from __future__ import annotations

import itertools

import pytest
import torch

from graphkit import Graph, ops
from graphkit.ops import _kernels as K
from graphkit.testing import cuda_cases as C

pytestmark = pytest.mark.cuda

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
IDX = [torch.int64, torch.int32]


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_reduce_grid(dev, reduce, dtype):
    bad = []
    for hf, weighted, segment, idx, size in itertools.product(C.HF_GRID[::2] + [(3, 333)], ("none", "plain", "eid"),
                                                              (False, True), IDX, C.SIZES):
        if weighted == "none" and hf[0] > 1:
            continue
        ok, detail = C.run_csr_reduce(dev, dtype, hf, weighted, segment, idx, size, reduce)
        if not ok:
            bad.append((hf, weighted, segment, idx, size, detail))
    assert not bad, bad[:3]


@pytest.mark.parametrize("hf", C.HF_GRID)
@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_csr_reduce_widths_with_hub(dev, hf, reduce):
    for weighted in ("none", "eid") if hf[0] == 1 else ("eid",):
        ok, detail = C.run_csr_reduce(dev, torch.float32, hf, weighted, False, torch.int64, (300, 20000, 9000), reduce)
        assert ok, (hf, weighted, detail)


@pytest.mark.parametrize("op", ["dot", "add", "mul"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sddmm_grid(dev, op, dtype):
    bad = []
    for hf, idx, use_eid, size in itertools.product(C.HF_GRID[::2] + [(2, 0), (8, 8)], IDX, (False, True), C.SIZES):
        ok, detail = C.run_sddmm(dev, dtype, hf, idx, use_eid, size, op)
        if not ok:
            bad.append((hf, idx, use_eid, size, detail))
    assert not bad, bad[:3]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("heads", [1, 2, 8])
def test_softmax_grid(dev, dtype, heads):
    bad = []
    for idx, use_eid, size in itertools.product(IDX, (False, True), C.SIZES + [(50, 20000, 15000)]):
        ok, detail = C.run_softmax(dev, dtype, heads, idx, use_eid, size)
        if not ok:
            bad.append((idx, use_eid, size, detail))
    assert not bad, bad[:3]


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_rule(dev, reduce, dtype):
    rowptr, x, exp_max, exp_min = C.nan_case()
    if reduce == "min":
        x = -x
        exp = [(-v if v == v else v, a) for v, a in exp_min]
    else:
        exp = exp_max
    out, arg = K.csr_reduce(rowptr.to(dev), None, None, None, x.to(dev, dtype), reduce)
    for r, (v, a) in enumerate(exp):
        got = float(out[r, 0, 0])
        assert (got != got and v != v) or got == v, (r, got, v)
        assert int(arg[r, 0, 0]) == a, (r, int(arg[r, 0, 0]), a)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_nan_rule_in_split_hub(dev, reduce):
    """A NaN deep inside a hub row (past several split segments) wins with its own position."""
    E = 5000
    x = torch.randn(E, 1, 3, dtype=torch.float64)
    x[3333, 0, 1] = float("nan")
    x[4444, 0, 1] = float("nan")
    rowptr = torch.tensor([0, E])
    out, arg = K.csr_reduce(rowptr.to(dev), None, None, None, x.to(dev), reduce)
    ref_out, ref_arg = K.csr_reduce(rowptr, None, None, None, x, reduce)
    assert torch.isnan(out[0, 0, 1]) and int(arg[0, 0, 1]) == 3333
    assert torch.equal(arg.cpu(), ref_arg)


def _ei(n=20, e=90, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei[1, :30] = 0
    return ei


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("weight", ["none", "1d", "heads"])
def test_spmm_gradcheck(dev, reduce, weight):
    ei = _ei().to(dev)
    heads = 2 if weight == "heads" else 1
    x = torch.randn(20, heads, 3, dtype=torch.float64, device=dev, requires_grad=True)
    args = [x]
    if weight != "none":
        shape = (90, 2) if weight == "heads" else (90,)
        args.append(torch.randn(*shape, dtype=torch.float64, device=dev, requires_grad=True))
    fn = (lambda x, w=None: ops.spmm(ei, x if weight == "heads" else x[:, 0], w, reduce))
    assert torch.autograd.gradcheck(fn, tuple(args))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_scatter_segment_gradcheck(dev, reduce):
    ei = _ei().to(dev)
    src = torch.randn(90, 4, dtype=torch.float64, device=dev, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: ops.scatter(s, ei[1], 20, reduce), (src,))
    ptr = torch.tensor([0, 10, 10, 50, 90], device=dev)
    assert torch.autograd.gradcheck(lambda s: ops.segment(s, ptr, reduce), (src,))


@pytest.mark.parametrize("op", ["dot", "add", "mul"])
def test_sddmm_gradcheck(dev, op):
    ei = _ei().to(dev)
    a = torch.randn(20, 2, 5, dtype=torch.float64, device=dev, requires_grad=True)
    b = torch.randn(20, 2, 5, dtype=torch.float64, device=dev, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: ops.sddmm(ei, a, b, op), (a, b))


def test_softmax_gradcheck(dev):
    ei = _ei().to(dev)
    s = torch.randn(90, 2, dtype=torch.float64, device=dev, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: ops.edge_softmax(ei, s, num_nodes=20), (s,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_lowp_backward_matches_cpu(dev, dtype):
    ei = torch.randint(0, 500, (2, 5000), generator=torch.Generator().manual_seed(1))
    x = torch.randn(500, 4, 16).to(dtype).float()  # the same rounded inputs on both sides
    w = torch.rand(5000, 4).to(dtype).float()
    grads = []
    for d, dt in ((torch.device("cpu"), torch.float32), (dev, dtype)):
        xx, ww = x.to(d, dt).requires_grad_(), w.to(d, dt).requires_grad_()
        g = Graph(edge_index=ei, num_nodes=500).to(d)
        y = ops.spmm(g, xx, ww, "sum") + ops.spmm(g, xx, ww, "max") + ops.spmm(g, xx, ww, "mean")
        att = ops.edge_softmax(g, ops.sddmm(g, xx, xx, "dot"))
        (y.float().square().sum() + att.float().sum()).backward()
        grads.append((xx.grad.float().cpu(), ww.grad.float().cpu()))
    tol = {torch.float32: 1e-4, torch.float16: 5e-2, torch.bfloat16: 1e-1}[dtype]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_max_min_backward_zero_edges(dev, reduce):
    """C1: every arg is -1; the gradient is zero, and the CUDA context survives (segment with E = 0 too)."""
    ei = torch.empty(2, 0, dtype=torch.long, device=dev)
    x = torch.randn(4, 3, device=dev, requires_grad=True)
    w = torch.randn(0, device=dev, requires_grad=True)
    ops.spmm(ei, x, reduce=reduce).sum().backward()
    ops.spmm(ei, x, w, reduce=reduce).sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x)) and w.grad.shape == (0,)
    src = torch.randn(0, 3, device=dev, requires_grad=True)
    ops.scatter(src, torch.empty(0, dtype=torch.long, device=dev), dim_size=4, reduce=reduce).sum().backward()
    ops.segment(src, torch.tensor([0, 0, 0], device=dev), reduce=reduce).sum().backward()
    torch.cuda.synchronize()
    assert float((torch.ones(3, device=dev) * 2).sum()) == 6.0


def test_fp16_mean_backward_huge_degree(dev):
    """W1: in-degree 70,000 > 65,504 (float16 max): the gradient is 1/70000 per edge, not 0."""
    E = 70_000
    ei = torch.stack([torch.arange(E) % 7, torch.zeros(E, dtype=torch.long)]).to(dev)
    x = torch.randn(7, 8, device=dev, dtype=torch.float16, requires_grad=True)
    ops.spmm(ei, x, reduce="mean", num_nodes=1).sum().backward()
    expect = torch.bincount(ei[0].cpu(), minlength=7).double() / E
    # 1/70000 is a float16 subnormal: 0.2% quantisation per edge
    torch.testing.assert_close(x.grad[:, 0].double().cpu(), expect, rtol=5e-3, atol=1e-6)


def test_huge_feature_width_grid_y(dev):
    """C2: H*F = 65535*64 + 1 needs more than 65535 feature tiles: the grid-stride loop covers them."""
    F = 65535 * 64 + 1
    x = torch.randn(2, 1, F, device=dev, dtype=torch.float16)
    out, _ = K.csr_reduce(torch.tensor([0, 1, 2], device=dev), None, None, None, x, "sum")
    assert torch.equal(out, x)


@pytest.mark.parametrize("what", ["col_high", "col_negative", "eid", "rowptr_first", "rowptr_step", "rowptr_last"])
def test_bad_indices_raise_value_error(dev, what):
    rowptr, col, eid = torch.tensor([0, 2, 3]), torch.tensor([0, 1, 2]), torch.tensor([2, 0, 1])
    w = torch.randn(3, 1)
    if what == "col_high":
        col = torch.tensor([0, 5, 1])
    elif what == "col_negative":
        col = torch.tensor([0, -1, 1])
    elif what == "eid":
        eid = torch.tensor([0, 7, 1])
    elif what == "rowptr_first":
        rowptr = torch.tensor([1, 2, 3])
    elif what == "rowptr_step":
        rowptr = torch.tensor([0, 3, 2])
    else:
        rowptr = torch.tensor([0, 2, 2])
    x = torch.randn(3, 1, 4)
    match = {"col_high": "col has index 5 but x.size", "col_negative": "col has negative index -1",
             "eid": "eid has index 7", "rowptr_first": r"rowptr\[0\] must be 0", "rowptr_step": "non-decreasing",
             "rowptr_last": r"rowptr\[-1\] is 2"}[what]
    with pytest.raises(ValueError, match=match):
        torch.ops.graphkit.csr_reduce(rowptr.to(dev), col.to(dev), eid.to(dev), w.to(dev), x.to(dev), "sum")
    assert float(torch.ones(2, device=dev).sum()) == 2.0  # the context is fine


def test_bad_indices_sddmm_softmax(dev):
    rowptr = torch.tensor([0, 2, 3], device=dev)
    a = torch.randn(2, 1, 4, device=dev)
    with pytest.raises(ValueError, match="col has index 9"):
        torch.ops.graphkit.sddmm(rowptr, torch.tensor([0, 9, 1], device=dev), None, a, a, "dot")
    with pytest.raises(ValueError, match="eid has"):
        torch.ops.graphkit.edge_softmax_fwd(rowptr, torch.tensor([0, 3, 1], device=dev), torch.randn(3, 2, device=dev))
    col = torch.tensor([0, 1, 1], device=dev)
    with pytest.raises(ValueError, match="eid must be a permutation"):  # S4: a repeat would race two writers
        torch.ops.graphkit.sddmm(rowptr, col, torch.tensor([0, 2, 2], device=dev), a, a, "dot")
    with pytest.raises(ValueError, match="eid must be a permutation"):
        torch.ops.graphkit.edge_softmax_fwd(rowptr, torch.tensor([1, 1, 0], device=dev), torch.randn(3, 2, device=dev))


def test_deferred_checks_make_no_sync_and_raise_later(dev):
    from graphkit.ops import cuda as gk_cuda

    g = Graph(edge_index=_ei(1000, 10000).to(dev), num_nodes=1000)
    x = torch.randn(1000, 4, 16, device=dev)
    w = torch.rand(10000, 4, device=dev)
    g.csr(), g.csr_t()
    torch.cuda.synchronize()
    with gk_cuda.deferred_checks():
        torch.cuda.set_sync_debug_mode("error")
        try:
            ops.spmm(g, x, w)
            ops.edge_softmax(g, ops.sddmm(g, x, x))
        finally:
            torch.cuda.set_sync_debug_mode(0)
    with pytest.raises(ValueError, match="col has index"):
        with gk_cuda.deferred_checks():
            torch.ops.graphkit.csr_reduce(torch.tensor([0, 1], device=dev), torch.tensor([5], device=dev), None, None,
                                          torch.randn(2, 1, 3, device=dev), "sum")


def test_one_sync_per_op(dev):
    g = Graph(edge_index=_ei(1000, 10000).to(dev), num_nodes=1000)
    x = torch.randn(1000, 4, 16, device=dev)
    g.csr(), g.csr_t()
    torch.cuda.synchronize()
    import warnings
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            ops.spmm(g, x)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert sum("synchroniz" in str(r.message) for r in rec) <= 1


def test_forward_is_deterministic(dev):
    rowptr, col, perm = C.csr_case(2000, 2000, 200000, hub=50000)
    x = torch.randn(2000, 1, 64, device=dev)
    a = K.csr_reduce(rowptr.to(dev), col.to(dev), None, None, x, "sum")[0]
    b = K.csr_reduce(rowptr.to(dev), col.to(dev), None, None, x, "sum")[0]
    assert torch.equal(a, b)


def test_side_stream_does_not_wait_for_default_stream(dev):
    import time

    rowptr, col, _ = C.csr_case(1000, 1000, 20000)
    rowptr, col = rowptr.to(dev), col.to(dev)
    x = torch.randn(1000, 1, 64, device=dev)
    side = torch.cuda.Stream()
    from graphkit.ops import cuda as gk_cuda
    K.csr_reduce(rowptr, col, None, None, x, "sum")
    torch.cuda.synchronize()
    torch.cuda._sleep(2_000_000_000)
    with gk_cuda.deferred_checks(), torch.cuda.stream(side):
        done = torch.cuda.Event()
        K.csr_reduce(rowptr, col, None, None, x, "sum")
        done.record(side)
        t0 = time.time()
        done.synchronize()
        waited = time.time() - t0
    torch.cuda.synchronize()
    assert waited < 0.5


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_wide_kernel_vector_layouts_and_misaligned_x(dev, offset):
    """P7: H*F = 256 takes 4-wide vector loads when x is aligned; a view starting 1 or 2 elements into its
    storage is not, and must fall back to a narrower layout with the same result."""
    rowptr, col, perm = C.csr_case(300, 300, 5000, hub=900)
    base = torch.randn(300 * 256 + offset, dtype=torch.float32)
    x = base[offset:].view(300, 1, 256)
    out, arg = K.csr_reduce(rowptr.to(dev), col.to(dev), None, None, base.to(dev)[offset:].view(300, 1, 256), "max")
    ref_out, ref_arg = K.csr_reduce(rowptr, col, None, None, x, "max")
    assert torch.equal(out.cpu(), ref_out) and torch.equal(arg.cpu(), ref_arg)


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("idx", IDX)
def test_max_min_weight_gradient_kernel(dev, reduce, idx):
    """P13: the weight gradient of max/min (arg_scatter_weight, one pass) against the torch path's."""
    rowptr, col, perm = C.csr_case(60, 60, 3000, hub=700, index_dtype=idx)
    x = torch.randn(60, 2, 24, dtype=torch.float64)
    w = torch.randn(3000, 2, dtype=torch.float64)
    out, arg = K.csr_reduce(rowptr, col, perm, w, x, reduce)
    grad = torch.randn_like(out)
    with ops.use_backend("torch"):
        ref_x, ref_w = K.arg_backward(col, perm, w, x, arg, grad, True, True)
    on = [t.to(dev) for t in (col, perm, w, x, arg, grad)]
    gx, gw = K.arg_backward(*on, True, True)
    torch.testing.assert_close(gx.cpu(), ref_x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw.cpu(), ref_w, rtol=1e-12, atol=1e-12)


def test_edges_in_csr_order_take_no_permutation(dev):
    """P9: a graph whose edges are grouped by target runs every op with eid=None; values as the shuffled graph."""
    ei = torch.randint(0, 50, (2, 4000), generator=torch.Generator().manual_seed(2))
    ei[1, :1500] = 7  # a hub past both split thresholds
    order = torch.sort(ei[1], stable=True).indices
    shuffled = Graph(edge_index=ei, num_nodes=50).to(dev)
    grouped = Graph(edge_index=ei[:, order], num_nodes=50).to(dev)
    assert grouped.adj.csr_eid() is None
    x = torch.randn(50, 4, 16, device=dev)
    w, s = torch.rand(4000, 4, device=dev), torch.randn(4000, 4, device=dev)
    o = order.to(dev)
    torch.testing.assert_close(ops.spmm(grouped, x, w[o]), ops.spmm(shuffled, x, w), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ops.sddmm(grouped, x, x), ops.sddmm(shuffled, x, x)[o])
    torch.testing.assert_close(ops.edge_softmax(grouped, s[o]), ops.edge_softmax(shuffled, s)[o])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_softmax_split_hub_with_nan_and_inf(dev, dtype):
    """The softmax hub split (segments of 512): a 5,000-edge hub with a NaN in one head and a -inf run in the
    other, against the CPU, forward and backward."""
    E = 6000
    rowptr = torch.tensor([0, 5000, 5000, E])
    s = torch.randn(E, 2, dtype=torch.float64) * 3
    s[3333, 0] = float("nan")
    s[1000:1600, 1] = float("-inf")
    g = torch.randn(E, 2, dtype=torch.float64)
    s, g = s.to(dtype).double(), g.to(dtype).double()
    y = K.softmax_fwd(rowptr.to(dev), None, s.to(dev, dtype))
    gy = K.softmax_bwd(rowptr.to(dev), None, y, g.to(dev, dtype))
    ry = K.softmax_fwd(rowptr, None, s)
    rg = K.softmax_bwd(rowptr, None, y.double().cpu(), g)
    tol = 1e-5 if dtype == torch.float32 else 2e-3
    torch.testing.assert_close(y.double().cpu(), ry, rtol=tol, atol=tol, equal_nan=True)
    torch.testing.assert_close(gy.double().cpu(), rg, rtol=tol, atol=tol, equal_nan=True)
