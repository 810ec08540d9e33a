"""Fake (meta) kernels of every torch.ops.graphkit op (graphkit/ops/_fake.py): checked against the CPU kernels
by torch.library.opcheck, usable on the meta device, and enough for torch.compile(fullgraph=True) to trace the
ops, forward and backward, without a graph break."""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import pytest
import torch

from graphkit import Graph, HeteroGraph, ops
from graphkit.loader.hetero_sampler import typed_csr

pytestmark = pytest.mark.skipif(not ops.ext_available(), reason="graphkit._C is not built")

FAKE_CHECKS = ("test_schema", "test_faketensor", "test_aot_dispatch_dynamic")


def _csr(n: int = 9, e: int = 30) -> Tuple[Graph, Any]:
    ei = torch.randint(0, n, (2, e), generator=torch.Generator().manual_seed(0))
    g = Graph(edge_index=ei, num_nodes=n)
    g.adj.csr_t(), g.adj.degree()  # built once, outside any compiled region (the sort is data-dependent)
    return g, g.adj


def _cases() -> List[Tuple[str, Callable[[], tuple]]]:
    g, adj = _csr()
    rowptr, col, perm = adj.csr()
    x = torch.randn(9, 2, 5, dtype=torch.float64)
    w = torch.randn(30, 2, dtype=torch.float64)
    s = torch.randn(30, 2, dtype=torch.float64)
    cases = []
    for reduce in ("sum", "mean", "max", "min"):
        cases.append(("csr_reduce", (rowptr, col, perm, w, x, reduce)))
        cases.append(("csr_reduce", (rowptr, None, None, None, torch.randn(30, 1, 3), reduce)))  # segment
    d, b = torch.randn(9, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    cases.append(("csr_reduce_epilogue", (rowptr, col, None, None, x, "sum", d, b, "relu")))
    cases.append(("csr_reduce_epilogue", (rowptr, col, perm, w, x, "mean", d[:4], None, "none")))
    for op in ("dot", "add", "mul"):
        cases.append(("sddmm", (rowptr, col, perm, x, x, op)))
    cases.append(("edge_softmax_fwd", (rowptr, perm, s)))
    cases.append(("edge_softmax_bwd", (rowptr, perm, torch.softmax(s, 0), torch.randn_like(s))))
    _, arg = torch.ops.graphkit.csr_reduce(rowptr, col, perm, w, x, "max")
    cases.append(("arg_scatter", (col, perm, w, arg, torch.randn(9, 2, 5, dtype=torch.float64), 9)))
    cases.append(("gather_rows", (x.view(9, 10), torch.tensor([3, 1, 8]), torch.empty(3, 10, dtype=torch.float64))))
    cases.append(("sample_neighbors", (rowptr, col, perm, torch.tensor([0, 4]), [3, 2], False, 7)))
    typed = typed_csr(HeteroGraph({"a": 5, "p": 7}, {("a", "w", "p"): torch.tensor([[0, 4, 2, 2], [6, 0, 3, 6]]),
                                                   ("p", "c", "p"): torch.tensor([[1, 5, 6], [6, 6, 2]])}))
    cases.append(("sample_neighbors_typed", (*typed[:3], torch.tensor([11, 5]), *typed[3:], [3, 2, 2, 1], False, 7)))
    ptr = torch.tensor([0, 4, 4, 9])
    cases.append(("segment_matmul", (x.view(9, 10), ptr, torch.randn(3, 10, 4, dtype=torch.float64))))
    cases.append(("segment_matmul_wgrad", (x.view(9, 10), ptr, torch.randn(9, 4, dtype=torch.float64))))
    a = torch.randn(9, 10, dtype=torch.float64)
    cases.append(("dense_mm", (a, torch.randn(4, 10, dtype=torch.float64).t())))
    cases.append(("relu_backward", (a, torch.relu(torch.randn(9, 10, dtype=torch.float64)))))
    return cases


@pytest.mark.parametrize("i", range(23))
def test_fake_kernel_matches_cpu_kernel(i: int) -> None:
    cases = _cases()
    assert len(cases) == 23  # the parametrisation above covers every case
    name, args = cases[i]
    # gather_rows writes into a caller-owned buffer and returns it (Tensor(a!)): AOT autograd cannot
    # functionalize a custom op returning an alias, so only its fake kernel is checked (a loader op, not traced)
    checks = FAKE_CHECKS[:2] if name == "gather_rows" else FAKE_CHECKS
    torch.library.opcheck(getattr(torch.ops.graphkit, name).default, args, test_utils=checks)


def test_every_op_has_a_fake_kernel() -> None:
    from graphkit.ops import _fake

    tensor_ops = {n for n in dir(torch.ops.graphkit) if not n.startswith(("_", "cuda_", "has_"))} - {"name"}
    missing = [n for n in tensor_ops if isinstance(getattr(torch.ops.graphkit, n), torch._ops.OpOverloadPacket)
               and n not in _fake._FAKES]
    assert not missing, missing


def test_meta_device_shapes() -> None:
    meta = torch.device("meta")
    rowptr, col = torch.empty(8, dtype=torch.long, device=meta), torch.empty(40, dtype=torch.long, device=meta)
    x = torch.empty(12, 3, 4, device=meta)
    out, arg = torch.ops.graphkit.csr_reduce(rowptr, col, None, None, x, "max")
    assert out.shape == arg.shape == (7, 3, 4) and arg.dtype == torch.long and out.device == meta
    assert torch.ops.graphkit.sddmm(rowptr, col, None, x, x, "dot").shape == (40, 3)


def test_compile_fullgraph_forward_and_backward() -> None:
    torch._dynamo.reset()
    _, adj = _csr()
    x = torch.randn(9, 2, 5, dtype=torch.float64)
    w = torch.rand(30, 2, dtype=torch.float64)

    def step(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        att = ops.edge_softmax(adj, ops.sddmm(adj, x, x, "dot"))
        y = ops.spmm(adj, x, att * w, "sum") + ops.spmm(adj, x, w, "max") + ops.spmm(adj, x, None, "mean")
        return y.square().sum()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    grads = []
    for fn in (step, compiled):
        xx, ww = x.clone().requires_grad_(), w.clone().requires_grad_()
        loss = fn(xx, ww)
        loss.backward()
        grads.append((loss.detach(), xx.grad, ww.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_sampler_fake_kernels() -> None:
    """The samplers' data-dependent outputs: unbacked sizes, checked against the CPU kernels."""
    g, adj = _csr(20, 80)
    rowptr, col, perm = adj.csr()
    cases = [("random_walk", (rowptr, col, torch.tensor([0, 3, 5]), 4, 1.0, 1.0, 0)),
             ("induced_subgraph", (rowptr, col, perm, torch.tensor([0, 3, 5, 7]))),
             ("saint_sample", (rowptr, col, None, "node", 5, 2, 0)),
             ("shadow_k_hop", (rowptr, col, perm, torch.tensor([1, 2]), 2, 3, False, 0))]
    for name, args in cases:
        torch.library.opcheck(getattr(torch.ops.graphkit, name).default, args, test_utils=FAKE_CHECKS[:2])
