"""Helpers for the tests of the seed papers' samplers (tests/loader/test_{cluster,graph_saint,shadow,random_walk}.py,
tests/nn/models/test_node2vec.py)."""
from __future__ import annotations

import os
from typing import Callable, Set, Tuple

import pytest
import torch

from graphkit import Graph
from graphkit.ops import ext_available


def require_ext() -> None:
    if not ext_available():
        if os.environ.get("GRAPHKIT_REQUIRE_PEERS", "") not in ("", "0"):
            pytest.fail("graphkit._C is not loadable (build it: python setup.py build_ext --inplace)")
        pytest.skip("graphkit._C is not built")


def backend(name: str) -> str:
    if name == "ext":
        require_ext()
    return name


BACKENDS = [pytest.param("torch", id="torch"), pytest.param("ext", id="ext")]


def undirected_graph(n: int = 200, e: int = 800, seed: int = 0) -> Graph:
    """Skewed degrees, both directions of every edge, a few isolated nodes, node and edge fields."""
    gen = torch.Generator().manual_seed(seed)
    src = (torch.rand(e, generator=gen) ** 2 * (n - 5)).long()
    dst = torch.randint(0, n - 5, (e,), generator=gen)
    keep = src != dst
    ei = torch.cat([torch.stack([src[keep], dst[keep]]), torch.stack([dst[keep], src[keep]])], 1)
    return Graph(x=torch.randn(n, 3, generator=gen), edge_index=ei, edge_attr=torch.arange(ei.size(1)).float(),
                 num_nodes=n, kinds={"edge_attr": "edge"})


def reference_induced(graph: Graph, nodes: torch.Tensor) -> Set[Tuple[int, int, int]]:
    """(local source, local target, edge id) of every edge with both ends in ``nodes``: plain Python."""
    local = {v: i for i, v in enumerate(nodes.tolist())}
    out = set()
    for e, (s, t) in enumerate(graph.edge_index.t().tolist()):
        if s in local and t in local:
            out.add((local[s], local[t], e))
    return out


def edges_of(sub: Graph) -> Set[Tuple[int, int, int]]:
    return set(zip(sub.edge_index[0].tolist(), sub.edge_index[1].tolist(), sub.e_id.tolist()))


def same_at_1_and_2_threads(run: Callable[[], object]) -> Tuple[object, object]:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run()
        torch.set_num_threads(2)
        two = run()
    finally:
        torch.set_num_threads(before)
    return one, two


def assert_same(a: object, b: object) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, Graph):
        assert sorted(a.keys()) == sorted(b.keys())
        for k in a.keys():
            assert_same(a[k], b[k])
        assert torch.equal(a.edge_index, b.edge_index)
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


# A small CSR (2 nodes, edges 1->0 and 0->1) for calling the kernels directly, past the Python checks.
KERNEL_PRELUDE = ("import torch, graphkit._C\n"
                  "rp = torch.tensor([0, 1, 2]); col = torch.tensor([1, 0]); perm = torch.tensor([0, 1])\n")


def assert_kernel_rejects(cases) -> None:
    """Each ``(call, message)``: the op call (on ``KERNEL_PRELUDE``'s names) raises ``ValueError`` containing
    ``message`` in a child interpreter (a crash fails the test instead of killing the run)."""
    from graphkit.testing import assert_raises_in_subprocess

    require_ext()
    for call, message in cases:
        assert_raises_in_subprocess(KERNEL_PRELUDE + "torch.ops.graphkit." + call, "ValueError", message)
