"""Adjacency: the one structure type, its memo, and when the memo is dropped (reliability repro g01, g02)."""
from __future__ import annotations

import gc

import pytest
import torch

from graphkit import Graph, ops
from graphkit.ops import adjacency as adjacency_module
from graphkit.ops.adjacency import Adjacency

X = torch.tensor([[1.0], [10.0], [100.0]])


def _fresh() -> Graph:
    return Graph(x=X, edge_index=torch.tensor([[0, 1], [2, 2]]))


def _edit_in_place(ei: torch.Tensor, how: str) -> None:
    if how == "in-place op":
        ei[0].fill_(2)
    elif how == "index assign under no_grad":
        with torch.no_grad():
            ei[0, 0] = 2
    elif how == ".data":
        ei.data[0, 0] = 2
    elif how == ".numpy()":
        ei.numpy()[0, 0] = 2
    else:
        torch.from_numpy(ei.numpy())[0, 0] = 2


HOWS = ["in-place op", "index assign under no_grad", ".data", ".numpy()", "torch.from_numpy view"]


@pytest.mark.parametrize("how", HOWS)
def test_graph_structure_follows_edits_that_skip_the_version_counter(how: str) -> None:
    # reliability repro g01: edits through .data, .numpy() or shared storage left a stale CSR behind, even
    # across validate(), to() and clone(). Torch edits are seen at once; the others by those three.
    truth = [0.0, 0.0, 110.0] if how != "in-place op" else [0.0, 0.0, 200.0]
    for check in (lambda g: g.validate(), lambda g: g.to("cpu"), lambda g: g.clone()):
        g = _fresh()
        assert ops.spmm(g, X).view(-1).tolist() == [0.0, 0.0, 11.0]  # builds and caches the CSR
        _edit_in_place(g.edge_index, how)
        h = check(g)
        assert ops.spmm(h, X).view(-1).tolist() == truth == ops.spmm(g.edge_index.clone(), X).view(-1).tolist()


@pytest.mark.parametrize("how", HOWS)
def test_bare_edge_index_memo_follows_edits(how: str) -> None:
    ei = torch.tensor([[0, 1], [2, 2]])
    assert ops.spmm(ei, X).view(-1).tolist() == [0.0, 0.0, 11.0]
    _edit_in_place(ei, how)
    assert ops.spmm(ei, X).view(-1).tolist() == ops.spmm(ei.clone(), X).view(-1).tolist()


def test_out_of_range_edit_behind_the_version_counter_is_caught() -> None:
    g = _fresh()
    g.csr()
    g.edge_index.numpy()[1, 0] = 7  # target 7 with num_nodes 3
    with pytest.raises(ValueError, match=r"edge_index\[1\] has index 7 but num_nodes is 3"):
        g.validate()
    h = _fresh()
    h.edge_index.numpy()[1, 0] = 7  # before any CSR: validate() reads the edges themselves
    with pytest.raises(ValueError, match=r"edge_index\[1\] has index 7 but num_nodes is 3"):
        h.validate()


def test_inference_mode_edge_index_works() -> None:
    with torch.inference_mode():
        ei = torch.tensor([[0, 1], [1, 0]])
    g = Graph(edge_index=ei, num_nodes=2)
    assert g.csr()[0].tolist() == [0, 1, 2]
    assert ops.spmm(ei, torch.ones(2, 1)).view(-1).tolist() == [1.0, 1.0]


def test_bare_edge_index_is_sorted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = adjacency_module.build_csr
    monkeypatch.setattr(adjacency_module, "build_csr", lambda *a: calls.append(1) or real(*a))
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    x = torch.randn(3, 2)
    first = ops.spmm(ei, x)
    assert len(calls) == 1
    torch.testing.assert_close(ops.spmm(ei, x), first)
    assert len(calls) == 1 and Adjacency.of(ei).csr() is Adjacency.of(ei).csr()
    ops.spmm(ei, torch.randn(5, 2))  # other sizes: another structure
    assert len(calls) == 2
    ei[0, 0] = 2  # a torch edit: version counter
    ops.spmm(ei, x)
    assert len(calls) == 3


def test_weak_table_lets_the_tensor_die() -> None:
    ei = torch.tensor([[0, 1], [1, 0]])
    Adjacency.of(ei).derived("payload", lambda: torch.zeros(3))
    key = id(ei)
    assert key in adjacency_module._TABLE
    del ei
    gc.collect()
    assert key not in adjacency_module._TABLE
    # a derived value that holds its tensor keeps it alive, but the table keeps only the latest few tensors
    for _ in range(adjacency_module._TABLE_SIZE + 4):
        t = torch.tensor([[0, 1], [1, 0]])
        Adjacency.of(t).derived("holds", lambda t=t: t)
    assert len(adjacency_module._TABLE) <= adjacency_module._TABLE_SIZE


def test_derived_memo_is_dropped_with_the_structure() -> None:
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    builds = []
    value = g.derived("k", lambda: builds.append(1) or torch.ones(1))
    assert g.derived("k", lambda: None) is value and len(builds) == 1
    g.num_nodes = 4
    g.derived("k", lambda: builds.append(1) or torch.ones(1))
    g.edge_index = torch.tensor([[1], [0]])
    g.derived("k", lambda: builds.append(1) or torch.ones(1))
    g.edge_index[0, 0] = 2
    g.derived("k", lambda: builds.append(1) or torch.ones(1))
    assert len(builds) == 4
    assert g.adj is g.adj and g.adj.num_dst == 4


def test_one_bounds_wording_and_int32_kept() -> None:
    adj = Adjacency(torch.tensor([[0, 5], [1, 0]]), 3, 3)
    with pytest.raises(ValueError, match=r"edge_index\[0\] has index 5 but num_nodes is 3"):
        adj.check_bounds()
    with pytest.raises(ValueError, match=r"edge_index\[0\] has negative index -1"):
        Adjacency.of(torch.tensor([[-1, 0], [1, 0]]), 3, 3)
    rowptr, col, perm = Adjacency.of(torch.tensor([[0, 1], [1, 0]], dtype=torch.int32)).csr()
    assert rowptr.dtype == col.dtype == perm.dtype == torch.int32


def test_every_op_takes_every_structure() -> None:
    g = Graph(x=torch.randn(4, 3, dtype=torch.float64), edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 1]]))
    scores = torch.randn(4, dtype=torch.float64)
    for adj in (g, g.adj, g.edge_index, Adjacency.from_adj(g.edge_index)):
        torch.testing.assert_close(ops.spmm(adj, g.x), ops.spmm(g, g.x))
        torch.testing.assert_close(ops.sddmm(adj, g.x, g.x), ops.sddmm(g, g.x, g.x))
        torch.testing.assert_close(ops.edge_softmax(adj, scores), ops.edge_softmax(g, scores))
    rev = g.adj.reversed()
    assert torch.equal(rev.edge_index, g.edge_index.flip(0)) and g.adj.reversed() is rev


def test_to_moves_the_csr_not_the_other_derived_values() -> None:
    g = _fresh()
    csr = g.csr()
    g.derived("other", lambda: torch.ones(1))
    h = g.to("cpu")
    assert h.has_csr() and torch.equal(h.csr()[0], csr[0]) and not h.adj.has("other")


def test_csr_eid_is_none_for_edges_in_csr_order_and_ops_agree() -> None:
    """P9: edges already grouped by target need no permutation; every op gives the same values either way."""
    ei = torch.randint(0, 12, (2, 60), generator=torch.Generator().manual_seed(5))
    order = torch.sort(ei[1], stable=True).indices
    shuffled, grouped = Graph(edge_index=ei, num_nodes=12), Graph(edge_index=ei[:, order], num_nodes=12)
    assert torch.equal(shuffled.adj.csr_eid(), shuffled.csr()[2]) and grouped.adj.csr_eid() is None
    x = torch.randn(12, 2, 3, dtype=torch.float64)
    w, s = torch.rand(60, 2, dtype=torch.float64), torch.randn(60, 2, dtype=torch.float64)
    for reduce in ("sum", "mean", "max"):
        torch.testing.assert_close(ops.spmm(grouped, x, w[order], reduce), ops.spmm(shuffled, x, w, reduce))
    for op in ("dot", "add", "mul"):
        torch.testing.assert_close(ops.sddmm(grouped, x, x, op), ops.sddmm(shuffled, x, x, op)[order])
    torch.testing.assert_close(ops.edge_softmax(grouped, s[order]), ops.edge_softmax(shuffled, s)[order])


def test_checksum_table_is_bounded_and_sees_one_edit_anywhere() -> None:
    # the weight table was as long as the longest edge_index (2 GiB at 124M edges), kept for the process' life
    block = adjacency_module._BLOCK
    t = torch.randint(0, 1000, (2, block + 7), generator=torch.Generator().manual_seed(0))
    before = adjacency_module._checksum(t)
    assert adjacency_module._WEIGHTS[torch.int64].numel() == block
    for pos in (0, block - 1, block, 2 * block + 13):
        t.view(-1)[pos] += 1
        assert adjacency_module._checksum(t) != before
        t.view(-1)[pos] -= 1
        assert adjacency_module._checksum(t) == before
    flat = t.view(-1)
    a, b = int(flat[3]), int(flat[block + 3])
    assert a != b
    flat[3], flat[block + 3] = b, a  # a swap across blocks: positions weigh differently
    assert adjacency_module._checksum(t) != before


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_build_csr_of_grouped_pairs_skips_the_sort(dtype: torch.dtype) -> None:
    rows = torch.tensor([0, 0, 2, 2, 2, 4], dtype=dtype)
    cols = torch.tensor([3, 1, 0, 4, 2, 1], dtype=dtype)
    got = adjacency_module.build_csr(rows, cols, 6, grouped=True)
    ref = adjacency_module.build_csr(rows, cols, 6)
    for a, b in zip(got, ref):
        assert a.dtype == dtype and torch.equal(a, b)
    assert got[1] is cols  # no copy of the columns
