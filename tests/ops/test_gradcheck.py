"""torch.autograd.gradcheck in float64 for every op and every reduce, on both backends."""
from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from graphkit import Graph
from graphkit import ops


def _graph(n: int = 7, e: int = 20, seed: int = 0, dedup: bool = False) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei[:, 0] = torch.tensor([3, 3])  # a self-loop
    ei[1, 1:6] = 0  # a hub
    if dedup:  # max/min without weights: duplicate edges would tie, where the gradient is not defined
        ei = torch.unique(ei, dim=1)
    return ei


def _r(*shape: int) -> torch.Tensor:
    # values spread over a wide range so that max/min have no near-ties within gradcheck's epsilon
    return (torch.randn(*shape, dtype=torch.float64) * 3).requires_grad_()


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_spmm(backend, reduce):
    ei = _graph()
    g = Graph(edge_index=ei, num_nodes=7)
    x, w = _r(7, 3), _r(ei.size(1))
    assert gradcheck(lambda x, w: ops.spmm(g, x, w, reduce), (x, w))
    assert gradcheck(lambda x: ops.spmm(_graph(dedup=True), x, reduce=reduce), (x,))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_spmm_heads(backend, reduce):
    ei = _graph()
    x, w = _r(7, 2, 3), _r(ei.size(1), 2)
    assert gradcheck(lambda x, w: ops.spmm(ei, x, w, reduce), (x, w))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_scatter_segment(backend, reduce):
    index = torch.tensor([0, 2, 2, 0, 3, 2, 0])
    src = _r(7, 2)
    assert gradcheck(lambda s: ops.scatter(s, index, 5, reduce), (src,))
    ptr = torch.tensor([0, 3, 3, 5, 7])
    assert gradcheck(lambda s: ops.segment(s, ptr, reduce), (src,))


@pytest.mark.parametrize("op", ["dot", "add", "mul"])
def test_sddmm(backend, op):
    ei = _graph()
    a, b = _r(7, 2, 3), _r(7, 2, 3)
    assert gradcheck(lambda a, b: ops.sddmm(ei, a, b, op), (a, b))
    assert gradcheck(lambda a, b: ops.sddmm(Graph(edge_index=ei, num_nodes=7), a, b, op), (a[:, 0], b[:, 0]))


def test_edge_softmax(backend):
    ei = _graph()
    s = _r(ei.size(1), 2)
    assert gradcheck(lambda s: ops.edge_softmax(ei, s, num_nodes=7), (s,))
    assert gradcheck(lambda s: ops.edge_softmax(Graph(edge_index=ei, num_nodes=7), s[:, 0]), (s,))


@pytest.mark.parametrize("op", ["spmm", "spmm_epilogue", "sddmm", "edge_softmax", "scatter_max", "segment_matmul"])
def test_double_backward_is_refused(backend, op):
    """The ops' backward passes are hand-written first-order kernels: differentiating them again must raise, not
    return zeros (a kernel without an autograd formula is silently treated as a constant by the engine)."""
    ei = _graph()
    x, w = _r(7, 3), _r(ei.size(1))
    run = {"spmm": lambda: ops.spmm(ei, x, w, "sum"),
           "spmm_epilogue": lambda: ops.spmm(ei, x, w, "sum", diag=torch.ones(7, dtype=x.dtype), act="relu"),
           "sddmm": lambda: ops.sddmm(ei, x, x),
           "edge_softmax": lambda: ops.edge_softmax(ei, w),
           "scatter_max": lambda: ops.scatter(x, torch.tensor([0, 0, 1, 2, 2, 2, 4]), 5, "max"),
           "segment_matmul": lambda: ops.segment_matmul(x, torch.tensor([0, 3, 7]), _r(2, 3, 2))}[op]
    with pytest.raises(RuntimeError, match="differentiate twice"):  # max/min refuse create_graph itself
        (g,) = torch.autograd.grad((run() ** 2).sum(), w if op == "edge_softmax" else x, create_graph=True)
        g.sum().backward()


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_scatter_double_backward(backend, reduce):
    """scatter's sum/mean gradient is a gather, so it can be differentiated again (gradient penalties need it)."""
    group = torch.tensor([0, 0, 1, 2, 2, 2, 4])
    assert torch.autograd.gradgradcheck(lambda x: ops.scatter(x, group, 5, reduce) ** 2, (_r(7, 3),))
