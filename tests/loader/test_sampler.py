"""Neighbour sampler: subsets of the true neighbourhood, fan-outs, replacement, seeds, CSR of the sub-graph."""
from __future__ import annotations

import os
from collections import Counter

import pytest
import torch

from graphkit import Graph
from graphkit.loader import sample_neighbors, to_subgraph
from graphkit.ops import ext_available
from graphkit.testing import assert_raises_in_subprocess


def _require_ext() -> None:
    if not ext_available():
        if os.environ.get("GRAPHKIT_REQUIRE_PEERS", "") not in ("", "0"):
            pytest.fail("graphkit._C is not loadable (build it: python setup.py build_ext --inplace)")
        pytest.skip("graphkit._C is not built")


BACKENDS = [pytest.param("torch", id="torch"), pytest.param("ext", id="ext")]


def _backend(name: str) -> str:
    if name == "ext":
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
        one = sample_neighbors(g, seeds, [10, 5], seed=5, backend="ext")
        torch.set_num_threads(max(2, before))
        many = sample_neighbors(g, seeds, [10, 5], seed=5, backend="ext")
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
    for backend in ["torch"] + (["ext"] if ext_available() else []):
        out = sample_neighbors(g, torch.tensor([3, 2]), [5, 5], seed=0, backend=backend)
        assert out.n_id.tolist() == [3, 2] and out.e_id.numel() == 0
        out = sample_neighbors(g, torch.empty(0, dtype=torch.long), [5], seed=0, backend=backend)
        assert out.n_id.numel() == 0 and out.rowptr.tolist() == [0]


@pytest.mark.parametrize("backend", ["torch", "ext"])
def test_bad_seeds_raise(backend: str) -> None:
    g = random_graph(n=10, e=20)
    with pytest.raises(ValueError, match=r"seeds\[1\] is 10 but num_nodes is 10"):
        sample_neighbors(g, torch.tensor([0, 10]), [2], backend=backend)
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
        "import torch, graphkit._C\n"
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


# Reproducers k01-k04 (reliability review): a corrupt CSR triple raises a ValueError naming the entry, on the
# public function (which checks the whole triple) and on the op itself (which checks exactly what it reads).
BAD_CSRS = [
    ("(T([0, 1, 2]), T([1, 2**40]), T([0, 1]))", "T([0, 1])", "[-1]", "col[1] is 1099511627776", "col has index"),
    ("(T([0, 10**7, 2]), T([1, 0]), T([0, 1]))", "T([0])", "[-1, -1]", "rowptr must be non-decreasing",
     "rowptr must be non-decreasing"),
    ("(T([0, 5, 3, 3, 3, 3, 4, 4, 5]), T([5, 1, 7, 4, 6]), T([0, 2, 4, 1, 3]))", "T([1, 5, 3, 0, 2])", "[-1, 0]",
     "rowptr must be non-decreasing", "rowptr must be non-decreasing"),
    ("(T([0, 1, 2]), T([1, 0]), T([0, 10**12]))", "T([0, 1])", "[-1]", "perm[1] is 1000000000000",
     "perm has edge id 1000000000000"),
    ("(T([1, 1, 2]), T([1, 0]), T([0, 1]))", "T([0, 1])", "[-1]", "rowptr[0] must be 0, got 1",
     "rowptr[0] must be 0, got 1"),
    ("(T([0, 1, 2]), T([1, -3]), T([0, 1]))", "T([0, 1])", "[-1]", "col[1] is -3", "col has index -3"),
]


@pytest.mark.parametrize("csr,seeds,fanouts,public_msg,op_msg", BAD_CSRS, ids=[c[3][:24] for c in BAD_CSRS])
@pytest.mark.parametrize("backend", ["torch", "ext"])
def test_corrupt_csr_raises(csr: str, seeds: str, fanouts: str, public_msg: str, op_msg: str, backend: str) -> None:
    pre = "import torch\nfrom graphkit.loader import sample_neighbors\nT = torch.tensor\n"
    assert_raises_in_subprocess(
        pre + f"sample_neighbors({csr}, {seeds}, {fanouts}, backend={backend!r})", "ValueError", public_msg)
    if backend == "ext" and ext_available():
        assert_raises_in_subprocess(
            pre + f"import graphkit._C\ntorch.ops.graphkit.sample_neighbors(*{csr}, {seeds}, {fanouts}, False, 0)",
            "ValueError", op_msg)


def test_failed_call_leaves_no_stale_state() -> None:  # k03: the per-thread map is reset on every exit path
    _require_ext()
    code = """
import torch, graphkit._C
from graphkit import Graph
from graphkit.loader import sample_neighbors
g = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
rowptr, col, perm = g.csr()
bad = [
    lambda: torch.ops.graphkit.sample_neighbors(rowptr, col, perm, torch.tensor([0]), [2**61], True, 0),
    lambda: torch.ops.graphkit.sample_neighbors(rowptr, torch.tensor([5, 0]), perm, torch.tensor([0, 1]), [1], False, 0),
    lambda: torch.ops.graphkit.sample_neighbors(rowptr, col, perm, torch.tensor([0, 1, 0]), [1], False, 0),
    lambda: torch.ops.graphkit.sample_neighbors(torch.tensor([0, 3, 2]), col, perm, torch.tensor([1, 0]), [1], False, 0),
]
for f in bad:
    try:
        f()
        raise SystemExit("no error")
    except ValueError:
        pass
    out = sample_neighbors(g, torch.tensor([1]), [-1])
    assert out.n_id.tolist() == [1, 0] and out.edge_index.tolist() == [[1], [0]], out
    assert sample_neighbors(g, torch.tensor([0]), [1]).n_id.tolist() == [0, 1]
raise ValueError("all clean")
"""
    assert_raises_in_subprocess(code, "ValueError", "all clean")


def test_fanout_with_replacement_is_capped() -> None:  # k11
    g = random_graph(n=10, e=20)
    with pytest.raises(ValueError, match=r"num_neighbors\[0\] is 100000000 with replace=True"):
        sample_neighbors(g, torch.tensor([0]), [10**8], replace=True)
    out = sample_neighbors(g, torch.tensor([0, 1]), [10**12])  # without replacement the degree caps it
    assert out.e_id.numel() <= 20
    if ext_available():
        assert_raises_in_subprocess(
            "import torch, graphkit._C\nT = torch.tensor\n"
            "torch.ops.graphkit.sample_neighbors(T([0, 1, 2]), T([1, 0]), T([0, 1]), T([0]), [10**8], True, 0)",
            "ValueError", "fanouts[0] is 100000000 with replace=True")


def test_backend_switch_reaches_the_sampler() -> None:  # issue 13 item 8: one switch for ops and loader
    from graphkit import ops

    g = random_graph(n=50, e=400)
    seeds = torch.tensor([0, 3, 7])
    with ops.use_backend("torch"):
        forced = sample_neighbors(g, seeds, [3, 3], seed=1)
    assert torch.equal(forced.n_id, sample_neighbors(g, seeds, [3, 3], seed=1, backend="torch").n_id)
    code = ("import torch\nfrom graphkit import Graph\nfrom graphkit.loader import sample_neighbors\n"
            "import graphkit.ops._torch_kernels as T\n"
            "def boom(*a): raise ValueError('torch path taken')\n"
            "T.sample_neighbors = boom\n"
            "sample_neighbors(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2), torch.tensor([1]), [1])\n")
    env_code = "import os\nos.environ['GRAPHKIT_FORCE_TORCH'] = '1'\n" + code
    assert_raises_in_subprocess(env_code, "ValueError", "torch path taken")
