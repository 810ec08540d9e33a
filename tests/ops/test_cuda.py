"""The CUDA kernels against the reference (run only where a GPU is present; `make cuda-check` compiles them)."""
from __future__ import annotations

import pytest
import torch

import graphkit.testing.reference as ref
from graphkit import Graph
from graphkit import ops

pytestmark = pytest.mark.cuda

TOL = {torch.float32: 1e-5, torch.float64: 1e-10, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def _graph(n: int = 300, e: int = 3000) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei[1, : e // 3] = 0  # a hub
    return ei


@pytest.fixture
def cuda_ext():
    if not ops.ext_available(torch.device("cuda")):  # a GPU is there (else the marker skips): a CPU build fails
        pytest.fail("a GPU is present but graphkit._C was built without CUDA (python setup.py build_ext --inplace)")
    assert ops.backend("cuda") == "cuda-ext"


@pytest.mark.parametrize("dtype", list(TOL))
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_spmm_cuda(cuda_ext, dtype, reduce):
    ei = _graph()
    x = torch.randn(300, 2, 40, dtype=torch.float64)
    w = torch.rand(ei.size(1), 2, dtype=torch.float64)
    g = Graph(edge_index=ei, num_nodes=300).to("cuda")
    out = ops.spmm(g, x.to("cuda", dtype), w.to("cuda", dtype), reduce)
    expect = ref.spmm(ei, x.to(dtype).double(), w.to(dtype).double(), reduce)
    torch.testing.assert_close(out.double().cpu(), expect, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", list(TOL))
def test_sddmm_softmax_cuda(cuda_ext, dtype):
    ei = _graph()
    a, b = torch.randn(300, 2, 16, dtype=torch.float64), torch.randn(300, 2, 16, dtype=torch.float64)
    g = Graph(edge_index=ei, num_nodes=300).to("cuda")
    for op in ("dot", "add", "mul"):
        out = ops.sddmm(g, a.to("cuda", dtype), b.to("cuda", dtype), op)
        expect = ref.sddmm(ei, a.to(dtype).double(), b.to(dtype).double(), op)
        torch.testing.assert_close(out.double().cpu(), expect, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    s = torch.randn(ei.size(1), 2, dtype=torch.float64)
    out = ops.edge_softmax(g, s.to("cuda", dtype))
    torch.testing.assert_close(out.double().cpu(), ref.edge_softmax(ei, s.to(dtype).double(), 300),
                               rtol=TOL[dtype], atol=TOL[dtype])


def test_gradcheck_cuda(cuda_ext):
    ei = _graph(20, 80).cuda()
    x = torch.randn(20, 3, dtype=torch.float64, device="cuda", requires_grad=True)
    w = torch.randn(80, dtype=torch.float64, device="cuda", requires_grad=True)
    for reduce in ("sum", "mean", "max"):
        assert torch.autograd.gradcheck(lambda x, w: ops.spmm(ei, x, w, reduce), (x, w))
    s = torch.randn(80, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: ops.edge_softmax(ei, s, num_nodes=20), (s,))
