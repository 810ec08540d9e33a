"""Typed neighbour sampling on a HeteroGraph: per-relation fan-outs, exact counts, real edges, seed-only results."""
from __future__ import annotations

import pytest
import torch

from graphkit import HeteroGraph
from graphkit.loader import LinkNeighborLoader, NeighborLoader
from graphkit.loader.hetero_sampler import sample_hetero
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
    assert_raises_in_subprocess(
        """
import torch, graphkit._C
rowptr = torch.tensor([0, 1, 3, 5]); col = torch.tensor([0, 0, 0, 0, 0]); perm = torch.arange(5)
torch.ops.graphkit.sample_neighbors_typed(rowptr, col, perm, torch.tensor([1]), torch.tensor([0, 2]),
                                          torch.tensor([0, 3]), torch.tensor([0]), [1], False, 0)
""",
        "ValueError",
        "relation 0 has 3 CSR rows but its target type has 2 nodes",
    )
    assert_raises_in_subprocess(  # a CSR entry past the nodes: found as it is read, not read out of bounds
        """
import torch, graphkit._C
rowptr = torch.tensor([0, 1, 2]); col = torch.tensor([0, 99]); perm = torch.arange(2)
torch.ops.graphkit.sample_neighbors_typed(rowptr, col, perm, torch.tensor([0, 1]), torch.tensor([0, 2]),
                                          torch.tensor([0, 2]), torch.tensor([0]), [-1], False, 0)
""",
        "ValueError",
        "col has index 99 but num_nodes is 2",
    )
