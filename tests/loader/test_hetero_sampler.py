"""Typed neighbour sampling on a HeteroGraph: per-relation fan-outs, exact counts, real edges, seed-only results."""
from __future__ import annotations

import pytest
import torch

from graphkit import HeteroGraph
from graphkit.loader import LinkNeighborLoader, NeighborLoader
from graphkit.loader.hetero_sampler import hetero_fanouts, sample_hetero, sample_hetero_neighbors, typed_csr
from graphkit.ops import _torch_kernels
from graphkit.ops import ext_available
from graphkit.testing import assert_raises_in_subprocess

W, C, R = ("author", "writes", "paper"), ("paper", "cites", "paper"), ("paper", "rev_writes", "author")
BACKENDS = ["torch"] + (["ext"] if ext_available() else [])


def graph(seed: int = 0) -> HeteroGraph:
    gen = torch.Generator().manual_seed(seed)
    na, np_ = 40, 60
    w = torch.stack([torch.randint(0, na, (300,), generator=gen), torch.randint(0, np_, (300,), generator=gen)])
    c = torch.stack([torch.randint(0, np_, (400,), generator=gen), torch.randint(0, np_, (400,), generator=gen)])
    return HeteroGraph({"author": {"x": torch.randn(na, 3, generator=gen)},
                        "paper": {"x": torch.randn(np_, 5, generator=gen), "y": torch.randint(0, 4, (np_,), generator=gen)}},
                       {W: {"edge_index": w, "edge_attr": torch.arange(300.0).view(-1, 1)}, C: c, R: w.flip(0)})


FANOUTS = {W: [3, 2], C: [2, 0], R: [-1, 1]}


def check_sub(h: HeteroGraph, sub: HeteroGraph, seeds: torch.Tensor, fanouts: dict) -> None:
    assert torch.equal(sub["paper"].n_id[: seeds.numel()], seeds)  # seeds first within their type
    for nt in h.node_types:
        assert torch.equal(sub[nt].x, h[nt].x[sub[nt].n_id])
    for et in h.edge_types:
        ei, e_id = sub[et].edge_index, sub[et].e_id
        src_t, _, dst_t = et
        # every sampled edge is that relation's edge e_id, mapped through the per-type n_id
        assert torch.equal(sub[src_t].n_id[ei[0]], h[et].edge_index[0, e_id])
        assert torch.equal(sub[dst_t].n_id[ei[1]], h[et].edge_index[1, e_id])
        assert e_id.unique().numel() == e_id.numel()  # without replacement
    assert torch.equal(sub[W].edge_attr, h[W].edge_attr[sub[W].e_id])
    # hop 0: each seed paper gets min(k, degree) edges of each relation into papers
    for et in (W, C):
        k = fanouts[et][0]
        deg = torch.bincount(h[et].edge_index[1], minlength=60)[seeds]
        got = torch.bincount(sub[et].edge_index[1], minlength=sub["paper"].num_nodes)[: seeds.numel()]
        want = deg if k < 0 else deg.clamp(max=k)
        assert torch.equal(got, want), (et, got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_typed_sampling_counts_and_edges(backend: str) -> None:
    h = graph()
    seeds = torch.tensor([5, 0, 17, 33])
    sub = sample_hetero(h, ("paper", seeds), FANOUTS, seed=3, backend=backend)
    check_sub(h, sub, seeds, FANOUTS)
    assert sub.batch_size == 4 and sub.input_type == "paper"
    # hop 1 (authors reached at hop 0) samples only the author-side relation, 1 per author
    assert sub.num_sampled_edges.numel() == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_only_reproducible(backend: str) -> None:
    h = graph()
    seeds = torch.arange(0, 60, 3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = sample_hetero(h, ("paper", seeds), FANOUTS, seed=11, backend=backend)
        torch.set_num_threads(4)
        b = sample_hetero(h, ("paper", seeds), FANOUTS, seed=11, backend=backend)
    finally:
        torch.set_num_threads(threads)
    for et in h.edge_types:
        assert torch.equal(a[et].e_id, b[et].e_id)
    c = sample_hetero(h, ("paper", seeds), FANOUTS, seed=12, backend=backend)
    assert any(not torch.equal(a[et].e_id, c[et].e_id) for et in h.edge_types)


def check_grouped(h: HeteroGraph, out, seeds: torch.Tensor) -> None:
    """The grouped output's own invariants, on either back end."""
    counts = [n.numel() for n in out.n_id]
    assert sum(counts) == int(out.nodes_per_hop.sum())
    assert sum(e.numel() for e in out.e_id) == int(out.edges_per_hop.sum())
    for t, (nt, n_id) in enumerate(zip(h.node_types, out.n_id)):
        assert n_id.unique().numel() == n_id.numel()
        assert n_id.numel() == 0 or (0 <= int(n_id.min()) and int(n_id.max()) < h.num_nodes_dict[nt])
        # seeds first within their type, in the order given
        off = h.node_offset[nt]
        own = seeds[(seeds >= off) & (seeds < off + h.num_nodes_dict[nt])] - off
        assert torch.equal(n_id[: own.numel()], own)
    for (src_t, _, dst_t), ei, e_id in zip(h.edge_types, out.edge_index, out.e_id):
        assert ei.shape == (2, e_id.numel()) and ei.is_contiguous()
        if e_id.numel():
            assert int(ei[0].max()) < counts[h.node_types.index(src_t)]
            assert int(ei[1].max()) < counts[h.node_types.index(dst_t)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_grouped_output_over_two_seed_types(backend: str) -> None:
    h = graph()
    # global ids of both types, as LinkNeighborLoader passes them
    seeds = torch.tensor([3, 0, 17, 40 + 5, 40 + 59, 40 + 0])
    out = sample_hetero_neighbors(h, seeds, hetero_fanouts(h, FANOUTS), seed=5, backend=backend)
    check_grouped(h, out, seeds)
    assert len(out.n_id) == 2 and len(out.edge_index) == len(out.e_id) == 3


@pytest.mark.skipif(not ext_available(), reason="needs the compiled sampler")
@pytest.mark.parametrize("fanouts", [[-1, -1], [1000, 1000]])
def test_kernel_equals_the_plain_torch_construction_when_nothing_is_random(fanouts: list) -> None:
    # all neighbours (or fan-outs above every degree): one possible sample, so the kernel's grouped output must
    # equal the twin's, which draws with torch and groups with stable sorts (group_typed)
    h = graph()
    seeds = torch.tensor([40 + 7, 40 + 1, 2])
    a = sample_hetero_neighbors(h, seeds, hetero_fanouts(h, fanouts), seed=1, backend="ext")
    b = sample_hetero_neighbors(h, seeds, hetero_fanouts(h, fanouts), seed=1, backend="torch")
    for name in ("n_id", "edge_index", "e_id"):
        assert all(torch.equal(x, y) for x, y in zip(getattr(a, name), getattr(b, name))), name
    assert torch.equal(a.nodes_per_hop, b.nodes_per_hop) and torch.equal(a.edges_per_hop, b.edges_per_hop)


@pytest.mark.skipif(not ext_available(), reason="needs the compiled sampler")
def test_one_type_one_relation_is_the_homogeneous_kernel_grouped() -> None:
    # with T = R = 1 the typed kernel seeds each node's generator as the homogeneous one does, so its output is
    # sample_neighbors' (same draws), grouped by the plain-torch construction
    gen = torch.Generator().manual_seed(4)
    ei = torch.randint(0, 50, (2, 600), generator=gen)
    h = HeteroGraph({"v": 50}, {("v", "e", "v"): ei})
    csr = typed_csr(h)
    seeds = torch.tensor([9, 2, 31])
    typed = sample_hetero_neighbors(h, seeds, [[4], [3]], seed=8, backend="ext")
    n_id, _, edge_index, e_id, nph, eph = torch.ops.graphkit.sample_neighbors(csr.rowptr, csr.col, csr.perm, seeds,
                                                                               [4, 3], False, 8)
    want = _torch_kernels.group_typed(n_id, edge_index[0], edge_index[1], e_id, csr.node_ptr, csr.edge_ptr)
    assert torch.equal(typed.n_id[0], want[0][0]) and torch.equal(typed.edge_index[0], want[1][0])
    assert torch.equal(typed.e_id[0], want[2][0])
    assert torch.equal(typed.nodes_per_hop, nph) and torch.equal(typed.edges_per_hop, eph)


@pytest.mark.skipif(not ext_available(), reason="needs the compiled sampler")
@pytest.mark.parametrize("threads", [1, 3])
def test_many_blocks_and_threads_equal_the_homogeneous_kernel(threads: int) -> None:
    # the draw and the numbering pass walk the pairs in blocks of ~64 edges, per thread chunk of 512 frontier
    # nodes: a batch spanning many blocks and chunks (and replacement draws) still equals sample_neighbors grouped
    gen = torch.Generator().manual_seed(5)
    ei = torch.randint(0, 4000, (2, 60_000), generator=gen)
    h = HeteroGraph({"v": 4000}, {("v", "e", "v"): ei})
    csr = typed_csr(h)
    seeds = torch.randperm(4000, generator=gen)[:700]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        for replace in (False, True):
            typed = sample_hetero_neighbors(h, seeds, [[7], [4]], replace=replace, seed=2, backend="ext")
            n_id, _, edge_index, e_id, nph, eph = torch.ops.graphkit.sample_neighbors(
                csr.rowptr, csr.col, csr.perm, seeds, [7, 4], replace, 2)
            want = _torch_kernels.group_typed(n_id, edge_index[0], edge_index[1], e_id, csr.node_ptr,
                                              csr.edge_ptr)
            assert int(eph.sum()) > 4000 and int(nph[1:].sum()) > 2000  # many blocks, several chunks
            assert torch.equal(typed.n_id[0], want[0][0]) and torch.equal(typed.edge_index[0], want[1][0])
            assert torch.equal(typed.e_id[0], want[2][0])
    finally:
        torch.set_num_threads(before)


def test_all_neighbours_is_exact() -> None:
    h = graph()
    seeds = torch.tensor([1, 2])
    sub = sample_hetero(h, ("paper", seeds), [-1])
    for et in (W, C):
        want = torch.isin(h[et].edge_index[1], seeds).nonzero().view(-1)
        assert sorted(sub[et].e_id.tolist()) == want.tolist()
    assert sub[R].num_edges == 0  # authors are not targets at hop 0


def test_neighbor_loader_on_a_hetero_graph() -> None:
    h = graph()
    loader = NeighborLoader(h, FANOUTS, input_nodes=("paper", torch.arange(10)), batch_size=4, seed=0, prefetch=0)
    batches = list(loader)
    assert len(batches) == 3 and [b.batch_size for b in batches] == [4, 4, 2]
    assert torch.cat([b["paper"].n_id[: b.batch_size] for b in batches]).tolist() == list(range(10))
    for b in batches:
        check_sub(h, b, b["paper"].n_id[: b.batch_size], FANOUTS)
    again = list(NeighborLoader(h, FANOUTS, input_nodes=("paper", torch.arange(10)), batch_size=4, seed=0,
                                prefetch=1))
    assert all(torch.equal(x[W].e_id, y[W].e_id) for x, y in zip(batches, again))


def test_link_loader_on_one_relation_with_negatives() -> None:
    h = graph()
    loader = LinkNeighborLoader(h, [2], edge_label_index=(W, None), batch_size=8, neg_sampling_ratio=1.0, seed=0,
                                prefetch=0)
    b = next(iter(loader))
    eli = b.edge_label_index
    assert eli.shape == (2, 16) and b.edge_label.tolist() == [1.0] * 8 + [0.0] * 8
    # positives map back to the relation's first 8 pairs
    assert torch.equal(b["author"].n_id[eli[0, :8]], h[W].edge_index[0, :8])
    assert torch.equal(b["paper"].n_id[eli[1, :8]], h[W].edge_index[1, :8])
    assert int(eli[0].max()) < b["author"].num_nodes and int(eli[1].max()) < b["paper"].num_nodes


def test_bad_typed_input() -> None:
    h = graph()
    with pytest.raises(ValueError, match="names edge type \\('a', 'b', 'c'\\), which the graph does not have"):
        sample_hetero(h, ("paper", torch.tensor([0])), {**FANOUTS, ("a", "b", "c"): [1, 1]})
    with pytest.raises(ValueError, match="no fan-outs for edge type \\('paper', 'rev_writes', 'author'\\)"):
        sample_hetero(h, ("paper", torch.tensor([0])), {W: [1], C: [1]})
    with pytest.raises(ValueError, match="input_nodes\\['paper'\\] has index 60 but node type 'paper' has 60"):
        sample_hetero(h, ("paper", torch.tensor([60])), [1])
    with pytest.raises(ValueError, match="names node type 'venue'"):
        NeighborLoader(h, [1], input_nodes=("venue", None))
    with pytest.raises(ValueError, match="edge_label_index\\[0\\] has index 40 but num_nodes of node type 'author'"):
        LinkNeighborLoader(h, [1], edge_label_index=(W, torch.tensor([[40], [0]])))


@pytest.mark.skipif(not ext_available(), reason="needs the compiled sampler")
def test_kernel_rejects_a_corrupt_typed_csr_in_subprocess() -> None:
    # two types (a: global 0..1, p: 2..3), relations a->p (edge ids 0..1) and p->p (edge id 2); the CSR is
    # relation-grouped: rows 0..1 are (a->p, p0/p1), rows 2..3 (p->p, p0/p1)
    head = """
import torch, graphkit._C
rowptr = torch.tensor([0, 1, 2, 3, 3]); perm = torch.arange(3)
node_ptr, edge_ptr = torch.tensor([0, 2, 4]), torch.tensor([0, 2, 3])
row_off, src_t, dst_t = torch.tensor([0, 2, 4]), torch.tensor([0, 1]), torch.tensor([1, 1])
def run(col, perm=perm, rowptr=rowptr, row_off=row_off, edge_ptr=edge_ptr):
    torch.ops.graphkit.sample_neighbors_typed(rowptr, col, perm, torch.tensor([2, 3]), node_ptr, edge_ptr,
                                              row_off, src_t, dst_t, [-1, -1], False, 0)
"""
    cases = [
        ("run(torch.tensor([0, 1, 2]), row_off=torch.tensor([0, 3, 4]))",
         "relation 0 has 3 CSR rows but its target type has 2 nodes"),
        # a source of the wrong type (a paper in the author relation): in range of all nodes, not of its type
        ("run(torch.tensor([0, 3, 2]))", "col has index 3 in relation 0, whose source type 0 holds the global ids [0, 2)"),
        ("run(torch.tensor([0, 1, 99]))", "col has index 99 in relation 1, whose source type 1 holds the global ids [2, 4)"),
        ("run(torch.tensor([0, 1, 2]), perm=torch.tensor([0, 2, 1]))",
         "perm has edge id 2 in relation 0, which holds the edge ids [0, 2)"),
        ("run(torch.tensor([0, 1, 2]), edge_ptr=torch.tensor([0, 2, 4]))", "edge_ptr must run from 0 to the 3 edges"),
    ]
    for call, message in cases:
        assert_raises_in_subprocess(head + call, "ValueError", message)
