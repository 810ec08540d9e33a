"""Neighbour sampler: subsets of the true neighbourhood, fan-outs, replacement, seeds, CSR of the sub-graph."""
from __future__ import annotations

import os
from collections import Counter

import pytest
import torch

from graphkit import Graph
from graphkit.loader import has_extension, sample_neighbors, to_subgraph
from graphkit.testing import assert_raises_in_subprocess


def _require_ext() -> None:
    if not has_extension():
        if os.environ.get("GRAPHKIT_REQUIRE_PEERS", "") not in ("", "0"):
            pytest.fail("graphkit._C has no sample_neighbors op (build it: python setup.py build_ext --inplace)")
        pytest.skip("graphkit._C is not built")


BACKENDS = [pytest.param("torch", id="torch"), pytest.param("cpp", id="cpp")]


def _backend(name: str) -> str:
    if name == "cpp":
        _require_ext()
    return name


def random_graph(n: int = 300, e: int = 3000, seed: int = 0, multi: bool = True) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    # Skewed degrees (some hubs, some isolated targets) and, with multi, parallel edges: both corner cases.
    dst = (torch.rand(e, generator=gen) ** 2 * n).long()
    src = torch.randint(0, n, (e,), generator=gen)
    if multi:
        src[: e // 10] = src[e // 10 : e // 5]
        dst[: e // 10] = dst[e // 10 : e // 5]
    return Graph(x=torch.randn(n, 4, generator=gen), edge_index=torch.stack([src, dst]),
                 edge_attr=torch.arange(e, dtype=torch.float).view(-1, 1), y=torch.arange(n))


def _check_sample(g: Graph, seeds: torch.Tensor, fanouts, replace: bool, out) -> None:
    ei = g.edge_index
    n_id, src, dst, e_id = out.n_id, out.src, out.dst, out.e_id
    assert torch.equal(n_id[: seeds.numel()], seeds), "seeds must come first"
    assert n_id.numel() == torch.unique(n_id).numel(), "a node appears twice in n_id"
    # Every sampled edge is a real edge into its target, and its endpoints are what the local ids say.
    assert torch.equal(ei[0, e_id], n_id[src]) and torch.equal(ei[1, e_id], n_id[dst])
    assert out.nodes_per_hop.sum() == n_id.numel() and out.edges_per_hop.sum() == e_id.numel()
    indeg = torch.bincount(ei[1], minlength=g.num_nodes)
    # Frontier of hop h: the contiguous local-id block of nodes first reached at hop h-1.
    bounds = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long), out.nodes_per_hop]), 0)
    for h, k in enumerate(fanouts):
        lo, hi = int(bounds[h]), int(bounds[h + 1])
        per_target = torch.bincount(dst, minlength=n_id.numel())[lo:hi]
        deg = indeg[n_id[lo:hi]]
        if k < 0:
            expected = deg
        elif replace:
            expected = torch.where(deg > 0, torch.full_like(deg, k), deg)
        else:
            expected = deg.clamp(max=k)
        assert torch.equal(per_target, expected), f"hop {h}: fan-out {k} not respected"
    # Nodes first reached at the last hop are leaves: no sampled edge points into them.
    assert bool((dst < int(bounds[len(fanouts)])).all())
    if not replace:
        assert e_id.numel() == torch.unique(e_id).numel(), "an edge was sampled twice without replacement"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("fanouts", [[3, 2], [5, -1], [0, 4], [2, 2, 2]])
def test_sample_is_subset_and_respects_fanouts(backend: str, replace: bool, fanouts) -> None:
    g = random_graph(seed=len(fanouts) + replace)
    seeds = torch.randperm(g.num_nodes)[:17]
    out = sample_neighbors(g, seeds, fanouts, replace=replace, seed=3, backend=_backend(backend))
    _check_sample(g, seeds, fanouts, replace, out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reproducible_under_seed(backend: str) -> None:
    g = random_graph()
    seeds = torch.arange(0, 300, 7)
    a = sample_neighbors(g, seeds, [4, 3], seed=11, backend=_backend(backend))
    b = sample_neighbors(g, seeds, [4, 3], seed=11, backend=backend)
    c = sample_neighbors(g, seeds, [4, 3], seed=12, backend=backend)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.e_id, c.e_id)


def test_cpp_result_independent_of_thread_count() -> None:
    _require_ext()
    g = random_graph(n=5000, e=60000)
    seeds = torch.randperm(5000)[:1500]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sample_neighbors(g, seeds, [10, 5], seed=5, backend="cpp")
        torch.set_num_threads(max(2, before))
        many = sample_neighbors(g, seeds, [10, 5], seed=5, backend="cpp")
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(x, y) for x, y in zip(one, many))


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_replacement_is_uniform(backend: str) -> None:
    # One target with 6 in-edges, fan-out 2: each edge is picked with probability 1/3.
    g = Graph(edge_index=torch.tensor([[1, 2, 3, 4, 5, 6], [0] * 6]), num_nodes=7)
    counts: Counter = Counter()
    trials = 3000
    for s in range(trials):
        out = sample_neighbors(g, torch.tensor([0]), [2], seed=s, backend=_backend(backend))
        counts.update(out.e_id.tolist())
    freq = torch.tensor([counts[e] / trials for e in range(6)])
    assert torch.allclose(freq, torch.full((6,), 1 / 3), atol=0.04), freq


@pytest.mark.parametrize("backend", BACKENDS)
def test_subgraph_csr_and_fields(backend: str) -> None:
    g = random_graph()
    seeds = torch.tensor([5, 0, 299, 42])
    out = sample_neighbors(g, seeds, [4, 3], seed=1, backend=_backend(backend))
    sub = to_subgraph(g, out)
    assert sub.has_csr()
    cached = sub.csr()
    rebuilt = Graph(edge_index=sub.edge_index.clone(), num_nodes=sub.num_nodes).csr()
    assert all(torch.equal(a, b) for a, b in zip(cached, rebuilt))
    assert torch.equal(sub.x, g.x[out.n_id]) and torch.equal(sub.y, g.y[out.n_id])
    assert torch.equal(sub.edge_attr.view(-1).long(), out.e_id)
    assert sub.kind("n_id") == "node" and sub.kind("e_id") == "edge"
    sub.validate()


def test_empty_seeds_and_isolated_nodes() -> None:
    g = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=4)
    for backend in ["torch"] + (["cpp"] if has_extension() else []):
        out = sample_neighbors(g, torch.tensor([3, 2]), [5, 5], seed=0, backend=backend)
        assert out.n_id.tolist() == [3, 2] and out.e_id.numel() == 0
        out = sample_neighbors(g, torch.empty(0, dtype=torch.long), [5], seed=0, backend=backend)
        assert out.n_id.numel() == 0 and out.rowptr.tolist() == [0]


@pytest.mark.parametrize("backend", ["torch", "cpp"])
def test_bad_seeds_raise(backend: str) -> None:
    g = random_graph(n=10, e=20)
    with pytest.raises(ValueError, match=r"seeds\[1\] is 10 but num_nodes is 10"):
        sample_neighbors(g, torch.tensor([0, 10]), [2], backend="torch" if backend == "torch" else "auto")
    with pytest.raises(ValueError, match=r"num_neighbors\[1\] is -2"):
        sample_neighbors(g, torch.tensor([0]), [2, -2])
    with pytest.raises(TypeError, match="seeds must be an integer tensor"):
        sample_neighbors(g, torch.tensor([0.5]), [2])
    if backend == "torch":
        with pytest.raises(ValueError, match="unique"):
            sample_neighbors(g, torch.tensor([1, 1]), [2], backend="torch")


def test_cpp_bad_input_does_not_crash() -> None:
    _require_ext()
    # Straight into the op (past the Python checks): a repeated seed and an out-of-range seed.
    prelude = (
        "import torch, graphkit.loader as L\n"
        + "L.has_extension()\n"
        "rowptr = torch.tensor([0, 1, 2]); col = torch.tensor([1, 0]); perm = torch.tensor([0, 1])\n"
    )
    assert_raises_in_subprocess(
        prelude + "torch.ops.graphkit.sample_neighbors(rowptr, col, perm, torch.tensor([1, 1]), [1], False, 0)",
        "ValueError", "seeds must be unique")
    assert_raises_in_subprocess(
        prelude + "torch.ops.graphkit.sample_neighbors(rowptr, col, perm, torch.tensor([0, 7]), [1], False, 0)",
        "ValueError", "seeds[1] is 7 but num_nodes is 2")
    assert_raises_in_subprocess(
        prelude + "torch.ops.graphkit.sample_neighbors(rowptr, col[:1], perm, torch.tensor([0]), [1], False, 0)",
        "ValueError", "perm has 2 entries but col has 1")
