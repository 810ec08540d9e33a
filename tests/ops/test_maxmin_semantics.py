"""Max/min agree on every back end where torch's own amax/amin are the spec: NaN propagates (the arg is the group's
first NaN, so the gradient goes there), an all -inf (max) / +inf (min) group keeps its gradient (arg = its first
entry), and the backward of an op with no edges or entries gives zero gradients. Reproducers k05, k06, k07 of
/work/shared/reviews/reliability-repro."""
from __future__ import annotations

import pytest
import torch

from graphkit import ops

NAN, INF = float("nan"), float("inf")


def _amax(src: torch.Tensor, idx: torch.Tensor, n: int, reduce: str) -> torch.Tensor:
    out = torch.zeros((n,) + tuple(src.shape[1:]), dtype=src.dtype)
    i = idx.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    return out.scatter_reduce(0, i, src, "amax" if reduce == "max" else "amin", include_self=False)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_scatter_propagates_nan_with_arg_at_first_nan(backend: str, reduce: str) -> None:  # k05
    src = torch.tensor([[1.0, NAN], [NAN, 2.0], [NAN, NAN], [3.0, 4.0], [-INF, 5.0]], dtype=torch.float64)
    idx = torch.tensor([0, 0, 1, 1, 2])
    out, arg = ops.scatter(src, idx, 3, reduce, return_arg=True)
    torch.testing.assert_close(out, _amax(src, idx, 3, reduce), equal_nan=True)
    assert arg.tolist() == [[1, 0], [2, 2], [4, 4]]


@pytest.mark.parametrize("F", [1, 3, 8, 19, 64])
def test_spmm_nan_rows_every_tile_width(backend: str, F: int) -> None:  # k05, through every register tile
    x = torch.randn(6, F)
    x[1, : F // 2 + 1] = NAN
    x[4] = NAN
    ei = torch.tensor([[0, 1, 2, 4, 3, 5], [0, 0, 0, 1, 2, 2]])
    for reduce in ("max", "min"):
        out = ops.spmm(ei, x, reduce=reduce, num_nodes=3)
        ref = _amax(x[ei[0]], ei[1], 3, reduce)
        torch.testing.assert_close(out, ref, equal_nan=True)
        assert out[1].isnan().all() and not out[2].isnan().any()


@pytest.mark.parametrize("reduce,fill", [("max", -INF), ("min", INF)])
def test_all_infinite_group_keeps_its_gradient(backend: str, reduce: str, fill: float) -> None:  # k06
    src = torch.full((2, 3), fill, dtype=torch.float64, requires_grad=True)
    out, arg = ops.scatter(src, torch.tensor([0, 0]), reduce=reduce, return_arg=True)
    out.sum().backward()
    assert out.tolist() == [[fill] * 3] and arg.tolist() == [[0, 0, 0]]
    assert src.grad.tolist() == [[1.0] * 3, [0.0] * 3]


def test_nan_gradient_goes_to_the_first_nan(backend: str) -> None:
    src = torch.tensor([[1.0], [NAN], [NAN]], dtype=torch.float64, requires_grad=True)
    ops.segment(src, torch.tensor([0, 3]), "max").sum().backward()
    assert src.grad.view(-1).tolist() == [0.0, 1.0, 0.0]


def test_backends_agree_on_nonfinite_inputs() -> None:
    if not ops.ext_available():
        pytest.skip("graphkit._C is not built")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 16, generator=gen, dtype=torch.float64)
    x[torch.rand(50, 16, generator=gen) < 0.1] = NAN
    x[torch.rand(50, 16, generator=gen) < 0.1] = INF
    x[torch.rand(50, 16, generator=gen) < 0.1] = -INF
    ei = torch.randint(0, 50, (2, 300), generator=gen)
    w = torch.rand(300, generator=gen, dtype=torch.float64)
    for reduce in ("max", "min"):
        res = {}
        for name in ("ext", "torch"):
            with ops.use_backend(name):
                xx, ww = x.clone().requires_grad_(), w.clone().requires_grad_()
                out = ops.spmm(ei, xx, ww, reduce=reduce)
                out.nan_to_num(0.0, 0.0, 0.0).sum().backward()
                res[name] = (out, xx.grad, ww.grad)
        for a, b in zip(res["ext"], res["torch"]):
            torch.testing.assert_close(a, b, equal_nan=True)


def test_zero_edge_backward_gives_zero_gradients(backend: str) -> None:  # k07
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.ones(0, requires_grad=True)
    ops.spmm(torch.empty(2, 0, dtype=torch.long), x, w, reduce="max").sum().backward()
    assert x.grad.abs().sum() == 0 and w.grad.shape == (0,)
    src = torch.randn(0, 4, dtype=torch.float16, requires_grad=True)
    ops.scatter(src, torch.empty(0, dtype=torch.long), 3, "max").float().sum().backward()
    assert src.grad.shape == (0, 4)
    src = torch.randn(0, 2, requires_grad=True)
    ops.segment(src, torch.tensor([0, 0]), "min").sum().backward()
    assert src.grad.shape == (0, 2)


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("F", [3, 8, 64])
def test_nan_made_by_the_weight_product_propagates(backend: str, reduce: str, F: int) -> None:
    # Neither factor alone is NaN in the second case: 0 * inf is. The compiled kernel decides once per call whether
    # to run its NaN-propagating compare, so each way a NaN can arise must switch it on.
    ei = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    for x_bad, w_bad in ((0.0, NAN), (INF, 0.0), (0.0, INF)):
        x = torch.randn(4, F, dtype=torch.float64)
        w = torch.rand(4, dtype=torch.float64) + 0.5
        x[1, 0], w[1] = x_bad, w_bad
        out = ops.spmm(ei, x, w, reduce=reduce, num_nodes=2)
        ref = _amax(x[ei[0]] * w.view(-1, 1), ei[1], 2, reduce)
        torch.testing.assert_close(out, ref, equal_nan=True)
        assert out[0, 0].isnan() and not out[1].isnan().any()


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_nan_found_past_the_first_scan_chunk(backend: str, reduce: str) -> None:
    # x larger than one chunk of the kernel's NaN scan (65,536 entries), the only NaN in its last entries
    x = torch.randn(5000, 64)
    x[4999, 63] = NAN
    ei = torch.tensor([[0, 4999, 1], [0, 0, 1]])
    out = ops.spmm(ei, x, reduce=reduce, num_nodes=2)
    torch.testing.assert_close(out, _amax(x[ei[0]], ei[1], 2, reduce), equal_nan=True)
    assert out[0, 63].isnan() and not out[0, :63].isnan().any()
