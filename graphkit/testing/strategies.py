"""Hypothesis strategies for random graphs, shared by the property tests."""
from __future__ import annotations

from typing import Any, Dict

import torch
from hypothesis import strategies as st

from graphkit import Graph


@st.composite
def graphs(draw: Any, max_nodes: int = 12, max_edges: int = 30, fields: bool = True, min_nodes: int = 0) -> Graph:
    """A random graph: empty graphs, isolated nodes, self-loops and parallel edges all appear."""
    n = draw(st.integers(min_nodes, max_nodes))
    e = draw(st.integers(0, max_edges)) if n > 0 else 0
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, max(n, 1), (2, e), generator=gen)
    kw: Dict[str, Any] = {}
    kinds: Dict[str, str] = {}
    if fields:
        kw["x"] = torch.randn(n, 3, generator=gen, dtype=torch.float64)
        kw["edge_attr"] = torch.randn(e, 2, generator=gen)
        kw["y"] = torch.randint(0, 5, (1,), generator=gen)
        kinds["y"] = "graph"
        if draw(st.booleans()):
            kw["node_label"] = torch.randint(0, 3, (n,), generator=gen)
            kinds["node_label"] = "node"
        if draw(st.booleans()):
            kw["edge_flag"] = torch.rand(e, generator=gen) > 0.5
            kinds["edge_flag"] = "edge"
    return Graph(edge_index=edge_index, num_nodes=n, kinds=kinds, **kw)


def assert_graphs_equal(a: Graph, b: Graph, ordered_edges: bool = True) -> None:
    """Same node count, edges (in order unless told otherwise), field names, kinds, dtypes and values."""
    assert a.num_nodes == b.num_nodes, (a.num_nodes, b.num_nodes)
    assert a.num_edges == b.num_edges, (a.num_edges, b.num_edges)
    assert sorted(a.keys()) == sorted(b.keys()), (a.keys(), b.keys())
    ea, eb = a.edge_index_or_empty(), b.edge_index_or_empty()
    if ordered_edges:
        pa = pb = None
        assert torch.equal(ea, eb), (ea, eb)
    else:
        n = max(a.num_nodes, 1)
        pa = torch.sort(ea[0] * n + ea[1], stable=True).indices
        pb = torch.sort(eb[0] * n + eb[1], stable=True).indices
        assert torch.equal(ea[:, pa], eb[:, pb])
    for name in a.keys():
        assert a.kind(name) == b.kind(name), (name, a.kind(name), b.kind(name))
        va, vb = a[name], b[name]
        if isinstance(va, torch.Tensor):
            assert isinstance(vb, torch.Tensor) and va.dtype == vb.dtype, (name, va, vb)
            if a.kind(name) == "edge" and pa is not None:
                va, vb = va[pa], vb[pb]
            assert va.shape == vb.shape and torch.equal(va, vb), (name, va, vb)
        else:
            assert va == vb, (name, va, vb)
