"""spmm's epilogue (diag, bias, act): against plain torch on random graphs (both back ends), float64 gradcheck,
and the trimmed (targets = first sources) and per-head layouts."""
from __future__ import annotations

from typing import Optional

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkit import ops
from graphkit.ops.adjacency import Adjacency
from graphkit.ops import use_backend

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


def _enter(backend: str):
    if backend == "ext" and not ops.ext_available():
        pytest.skip("graphkit._C is not built")
    return use_backend(backend)


def plain(ei: torch.Tensor, x: torch.Tensor, w: Optional[torch.Tensor], reduce: str, n_dst: int,
          diag: Optional[torch.Tensor], bias: Optional[torch.Tensor], act: Optional[str]) -> torch.Tensor:
    """The epilogue written out in plain torch: per-edge messages, a scatter, then the three terms."""
    msg = x[ei[0]]
    if w is not None:
        msg = msg * w.view(-1, *([1] * (x.dim() - 1)))
    out = x.new_zeros((n_dst,) + tuple(x.shape[1:])).index_add(0, ei[1], msg)
    if reduce == "mean":
        deg = torch.bincount(ei[1], minlength=n_dst).clamp(min=1).to(x.dtype)
        out = out / deg.view(-1, *([1] * (x.dim() - 1)))
    elif reduce in ("max", "min"):
        idx = ei[1].view(-1, *([1] * (x.dim() - 1))).expand_as(msg)
        out = x.new_zeros(out.shape).scatter_reduce(0, idx, msg, "amax" if reduce == "max" else "amin",
                                                    include_self=False)
    if diag is not None:
        out = out + diag.view(-1, *([1] * (x.dim() - 1))) * x[:n_dst]
    if bias is not None:
        out = out + bias
    return torch.relu(out) if act == "relu" else out


@st.composite
def problems(draw):
    n_dst = draw(st.integers(1, 9))
    n_src = n_dst + draw(st.integers(0, 4))  # extra sources: a layer-trimmed batch (targets are the first rows)
    e = draw(st.integers(0, 40))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    src = torch.randint(0, n_src, (e,), generator=gen)
    dst = torch.randint(0, n_dst, (e,), generator=gen)
    f = draw(st.sampled_from([1, 3, 8, 16, 19, 64]))  # the scalar tail, one vector, several tiles
    return torch.stack([src, dst]), n_src, n_dst, f, gen


@pytest.mark.parametrize("backend", ["ext", "torch"])
@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@SETTINGS
@given(p=problems(), weighted=st.booleans(), use_diag=st.booleans(), use_bias=st.booleans(),
       act=st.sampled_from([None, "relu"]))
def test_epilogue_matches_plain_torch(backend, reduce, p, weighted, use_diag, use_bias, act):
    ei, n_src, n_dst, f, gen = p
    x = torch.randn(n_src, f, generator=gen, dtype=torch.float64)
    w = torch.randn(ei.size(1), generator=gen, dtype=torch.float64) if weighted else None
    diag = torch.randn(n_dst, generator=gen, dtype=torch.float64) if use_diag else None
    bias = torch.randn(f, generator=gen, dtype=torch.float64) if use_bias else None
    with _enter(backend):
        out = ops.spmm(ei, x, w, reduce, num_nodes=n_dst, diag=diag, bias=bias, act=act)
    torch.testing.assert_close(out, plain(ei, x, w, reduce, n_dst, diag, bias, act), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["ext", "torch"])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_epilogue_gradcheck(backend, reduce, weighted):
    gen = torch.Generator().manual_seed(3)
    n_src, n_dst, f = 9, 7, 5
    ei = torch.stack([torch.randint(0, n_src, (30,), generator=gen), torch.randint(0, n_dst, (30,), generator=gen)])
    # values away from 0 after the bias, so relu's kink is not hit by gradcheck's finite differences
    x = (torch.rand(n_src, f, generator=gen, dtype=torch.float64) + 0.5).requires_grad_()
    w = (torch.rand(30, generator=gen, dtype=torch.float64) + 0.1).requires_grad_() if weighted else None
    diag = torch.randn(n_dst, generator=gen, dtype=torch.float64).requires_grad_()
    bias = torch.tensor([-30.0, 30.0, 0.5, -30.0, 2.0], dtype=torch.float64).requires_grad_()
    adj = Adjacency(ei, n_src, n_dst)  # targets are the first n_dst sources, as on a trimmed batch
    with _enter(backend):
        fn = lambda x, w, d, b: ops.spmm(adj, x, w, reduce, diag=d, bias=b, act="relu")  # noqa: E731
        assert torch.autograd.gradcheck(fn, (x, w, diag, bias))


@pytest.mark.parametrize("backend", ["ext", "torch"])
def test_epilogue_per_head(backend):
    gen = torch.Generator().manual_seed(5)
    n, h, f = 8, 3, 9
    ei = torch.randint(0, n, (2, 25), generator=gen)
    x = torch.randn(n, h, f, dtype=torch.float64, generator=gen)
    w = torch.randn(25, h, dtype=torch.float64, generator=gen)
    diag = torch.randn(n, dtype=torch.float64, generator=gen)
    bias = torch.randn(h, f, dtype=torch.float64, generator=gen)
    with _enter(backend):
        out = ops.spmm(ei, x, w, diag=diag, bias=bias, act="relu")
    msg = x[ei[0]] * w.unsqueeze(-1)
    ref = torch.zeros_like(x).index_add(0, ei[1], msg) + diag.view(-1, 1, 1) * x + bias
    torch.testing.assert_close(out, torch.relu(ref), rtol=1e-12, atol=1e-12)


def test_epilogue_relu_keeps_nan():
    x = torch.tensor([[float("nan")], [-1.0]])
    out = ops.spmm(torch.tensor([[0, 1], [0, 1]]), x, act="relu")
    assert out[0].isnan().all() and out[1].item() == 0.0  # as torch.relu
