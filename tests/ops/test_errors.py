"""Bad input raises a clear ValueError/TypeError naming the field and value, never a crash (run in a subprocess)."""
from __future__ import annotations

import pytest

from graphkit.testing import assert_raises_in_subprocess

PRE = "import torch\nfrom graphkit import ops\nx = torch.randn(12, 4)\n"

CASES = [
    ("ops.spmm(torch.tensor([[0, 1], [3, 17]]), x)", "ValueError", "edge_index[1] has index 17 but num_nodes is 12"),
    ("ops.spmm(torch.tensor([[0, -2], [3, 1]]), x)", "ValueError", "edge_index[0] has negative index -2"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, torch.ones(3))", "ValueError", "edge_weight has shape [3]"),
    ("ops.spmm(torch.tensor([[0.0, 1.0], [3.0, 1.0]]), x)", "TypeError", "edge_index must be an int64 or int32"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x.long())", "TypeError", "x must be a floating-point tensor"),
    ("ops.spmm(torch.tensor([[0, 1, 2]]), x)", "ValueError", "edge_index must have shape [2, E]"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, torch.ones(2, dtype=torch.float64))", "TypeError", "edge_weight has dtype"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, reduce='avg')", "ValueError", "reduce must be one of"),
    ("ops.scatter(torch.ones(3), torch.tensor([0, 5, 1]), dim_size=4)", "ValueError", "index has index 5 but dim_size is 4"),
    ("ops.scatter(torch.ones(3), torch.tensor([0, 1]))", "ValueError", "index must have shape [3]"),
    ("ops.segment(torch.ones(3), torch.tensor([0, 2, 1, 3]))", "ValueError", "ptr must be non-decreasing"),
    ("ops.segment(torch.ones(3), torch.tensor([0, 2, 9]))", "ValueError", "ptr[-1] is 9 but src has 3 rows"),
    ("ops.sddmm(torch.tensor([[0, 1], [3, 1]]), x, torch.randn(12, 5))", "ValueError", "equal trailing sizes"),
    ("ops.edge_softmax(torch.tensor([[0, 1], [3, 1]]), torch.randn(5))", "ValueError", "scores has 5 rows but there are 2"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]], device='meta'), x)", "ValueError", "edge_index is on meta but x is on cpu"),
    # k11: sizes are checked before anything of that size is allocated, one ValueError naming the argument
    ("ops.spmm(torch.tensor([[0], [1]]), x[:2], num_nodes=2**40)", "ValueError", "num_nodes is 1099511627776: its output"),
    ("ops.spmm(torch.empty(2, 0, dtype=torch.long), x, num_nodes=-2)", "ValueError", "num_nodes must be >= 0, got -2"),
    ("ops.edge_softmax(torch.tensor([[0], [2**40]]), torch.randn(1))", "ValueError", "num_nodes is 1099511627777"),
    ("from graphkit import Graph\nops.edge_softmax(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2**40), "
     "torch.randn(1))", "ValueError", "1099511627776"),
    ("ops.scatter(torch.randn(1, 4), torch.tensor([0]), dim_size=2**62)", "ValueError", "dim_size is 4611686018427387904"),
    ("ops.scatter(torch.randn(0, 4), torch.tensor([], dtype=torch.long), dim_size=-3)", "ValueError",
     "dim_size must be >= 0, got -3"),
    ("ops.scatter(torch.randn(1, 4), torch.tensor([2**63 - 1]))", "ValueError", "index.max() + 1 is 9223372036854775808"),
    ("ops.scatter(torch.randn(1, 4), torch.tensor([0]), dim_size=2.0)", "TypeError", "dim_size must be an int"),
    # the spmm epilogue
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, diag=torch.ones(5))", "ValueError",
     "diag must have shape [12] (one entry per target), got [5]"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, bias=torch.ones(3))", "ValueError", "bias must have shape [4], got [3]"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, act='gelu')", "ValueError", "act must be None or 'relu', got 'gelu'"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x, diag=torch.ones(12, dtype=torch.float64))", "TypeError",
     "diag has dtype torch.float64"),
    ("ops.spmm(torch.tensor([[0, 1], [3, 1]]), x[:4], num_nodes=6, diag=torch.ones(6))", "ValueError",
     "x has 4 rows and there are 6 targets"),
]

# The compiled kernels check too, so a direct torch.ops call cannot read out of bounds.
EXT = "import graphkit._C\nT = torch.tensor\n"
EXT_CASES = [
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0, 99]), None, None, torch.randn(3, 1, 2), 'sum')", "ValueError",
     "col has index 99 but x.size(0) is 3"),
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0, -1]), None, None, torch.randn(3, 1, 2), 'max')", "ValueError",
     "col has negative index -1"),
    # the CPU kernel checks col as it gathers; with no features it gathers nothing, so the check runs up front
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0, 99]), None, None, torch.randn(3, 1, 0), 'sum')", "ValueError",
     "col has index 99 but x.size(0) is 3"),
    ("torch.ops.graphkit.csr_reduce(T([0, 1, 3]).int(), T([2, 0, 7]).int(), None, None, "
     "torch.randn(3, 2, 40).double(), 'mean')", "ValueError", "col has index 7 but x.size(0) is 3"),
    ("torch.ops.graphkit.csr_reduce(T([0, 1, 3]), T([2, 0, 7]), T([0, 1, 2]), torch.ones(3, 2), torch.randn(3, 2, 5), "
     "'min')", "ValueError", "col has index 7 but x.size(0) is 3"),
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0, 1]), None, None, torch.randn(0, 1, 4), 'sum')", "ValueError",
     "col has index"),
    ("torch.ops.graphkit.csr_reduce(T([0, 3, 2]), T([0, 1]), None, None, torch.randn(3, 1, 2), 'sum')", "ValueError",
     "rowptr must be non-decreasing"),
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0.0, 1.0]), None, None, torch.randn(3, 1, 2), 'sum')", "TypeError",
     "col must be an int64 or int32 tensor"),
    ("torch.ops.graphkit.csr_reduce(T([0, 2]), T([0, 1]), T([0, 5]), torch.ones(2, 1), torch.randn(3, 1, 2), 'sum')",
     "ValueError", "eid has index 5 but weight.size(0) is 2"),
    ("torch.ops.graphkit.csr_reduce_epilogue(T([0, 2]), T([0, 99]), None, None, torch.randn(3, 1, 2), 'sum', "
     "torch.ones(1), None, 'relu')", "ValueError", "col has index 99 but x.size(0) is 3"),
    ("torch.ops.graphkit.csr_reduce_epilogue(T([0, 2]), T([0, 1]), None, None, torch.randn(3, 1, 2), 'sum', "
     "torch.ones(4), None, 'none')", "ValueError", "diag has 4 entries but there are 1 rows"),
    ("torch.ops.graphkit.csr_reduce_epilogue(T([0, 2]), T([0, 1]), None, None, torch.randn(3, 1, 2), 'sum', "
     "None, torch.ones(3), 'none')", "ValueError", "bias has 3 entries but x's rows have 2"),
    ("torch.ops.graphkit.csr_reduce_epilogue(T([0, 2]), T([0, 1]), None, None, torch.randn(3, 1, 2), 'max', "
     "None, None, 'relu')", "ValueError", "the epilogue needs reduce 'sum' or 'mean', got 'max'"),
    ("torch.ops.graphkit.csr_reduce_epilogue(T([0, 2]), T([0, 1]), None, None, torch.randn(3, 1, 2), 'sum', "
     "None, None, 'tanh')", "ValueError", "act must be 'none' or 'relu', got 'tanh'"),
    ("torch.ops.graphkit.sddmm(T([0, 2]), T([0, 4]), None, torch.randn(1, 1, 2), torch.randn(3, 1, 2), 'dot')",
     "ValueError", "col has index 4 but b.size(0) is 3"),
    ("torch.ops.graphkit.edge_softmax_fwd(T([0, 2]), T([0, 7]), torch.randn(2, 1))", "ValueError",
     "eid has index 7 but the number of edges is 2"),
    ("torch.ops.graphkit.arg_scatter(T([0, 1]), None, None, T([[[0, 9]]]), torch.ones(1, 1, 2), 3)", "ValueError",
     "arg has position 9 but positions must be -1 (nothing picked) or in [0, 2)"),
    ("torch.ops.graphkit.arg_scatter(T([0, 5]), None, None, T([[[0, 1]]]), torch.ones(1, 1, 2), 3)", "ValueError",
     "col has index 5 but num_src is 3"),
    ("torch.ops.graphkit.arg_scatter(None, None, None, T([[[0, 1]]]), torch.ones(1, 2, 1), 3)", "ValueError",
     "arg and grad must have the same shape"),
    ("torch.ops.graphkit.arg_scatter(None, None, None, T([[[0, 1]]]).int(), torch.ones(1, 1, 2), 3)", "TypeError",
     "arg must be int64"),
    ("torch.ops.graphkit.arg_scatter(None, None, torch.ones(2, 1), T([[[0, 2]]]), torch.ones(1, 1, 2), 3)",
     "ValueError", "weight has 2 rows but positions go up to 3"),
    # k09: only -1 means "nothing picked"; any other negative position is an error
    ("torch.ops.graphkit.arg_scatter(T([0]), None, None, T([[[-5]], [[0]]]), torch.ones(2, 1, 1), 1)", "ValueError",
     "arg has position -5"),
    # k08: eid must be a permutation, else rows of the uninitialised output would never be written
    ("torch.ops.graphkit.sddmm(T([0, 2, 4]), T([0, 1, 0, 1]), T([0, 0, 0, 0]), torch.randn(2, 1, 4), "
     "torch.randn(2, 1, 4), 'add')", "ValueError", "eid[1] = 0 repeats an earlier entry"),
    ("torch.ops.graphkit.edge_softmax_fwd(T([0, 2, 4]), T([0, 1, 1, 3]), torch.randn(4, 1))", "ValueError",
     "eid[2] = 1 repeats an earlier entry"),
    ("torch.ops.graphkit.edge_softmax_bwd(T([0, 2, 4]).int(), T([3, 2, 1, 3]).int(), torch.rand(4, 1), "
     "torch.randn(4, 1))", "ValueError", "eid must be a permutation of the 4 edge ids"),
    ("torch.ops.graphkit.dense_mm(torch.randn(3, 4), torch.randn(5, 2))", "ValueError",
     "dense_mm: a has 4 columns but b has 5 rows"),
    ("torch.ops.graphkit.dense_mm(torch.randn(3, 4), torch.randn(4, 2, dtype=torch.float64))", "TypeError",
     "dense_mm: a has dtype Float but b has dtype Double"),
    ("torch.ops.graphkit.relu_backward(torch.randn(3, 4), torch.randn(4, 3))", "ValueError",
     "relu_backward: grad has shape [3, 4] but out has shape [4, 3]"),
    # k10 at the op level: out may not overlap src
    ("s = torch.arange(8.0).view(8, 1).repeat(1, 4)\ntorch.ops.graphkit.gather_rows(s, T([1, 2, 3, 4, 5, 6, 7, 0]), s)",
     "ValueError", "gather_rows: out overlaps src"),
]


@pytest.mark.parametrize("code,exc,match", CASES, ids=[c[2][:30] for c in CASES])
def test_python_face(code, exc, match):
    assert_raises_in_subprocess(PRE + code, exc, match)


@pytest.mark.parametrize("code,exc,match", EXT_CASES, ids=[c[2][:30] for c in EXT_CASES])
def test_compiled_checks(code, exc, match):
    from graphkit.ops import ext_available

    if not ext_available():
        pytest.skip("graphkit._C is not built")
    assert_raises_in_subprocess(PRE + EXT + code, exc, match)
