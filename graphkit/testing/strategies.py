"""Hypothesis strategies for random graphs, shared by the property tests."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

import torch
from hypothesis import strategies as st

from graphkit import Graph

if TYPE_CHECKING:
    from graphkit.hetero import HeteroGraph


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


@st.composite
def hetero_graphs(draw: Any, max_types: int = 3, max_nodes: int = 8, max_edges: int = 20,
                  globals_: bool = True) -> "HeteroGraph":
    """A random heterogeneous graph: 1..max_types node types (some featureless, some empty), 1..4 relations
    (parallel relations between the same types and self-relations included), per-type fields of mixed dtypes."""
    from graphkit.hetero import HeteroGraph

    t = draw(st.integers(1, max_types))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    h = HeteroGraph()
    names = [f"n{i}" for i in range(t)]
    for nt in names:
        n = draw(st.integers(0, max_nodes))
        store = h.node_store(nt)
        store.num_nodes = n
        if draw(st.booleans()):
            store.set("x", torch.randn(n, draw(st.integers(1, 3)), generator=gen, dtype=torch.float64))
        if draw(st.booleans()):
            store.set("y", torch.randint(0, 4, (n,), generator=gen))
    for r in range(draw(st.integers(1, 4))):
        src, dst = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        ns, nd = h.num_nodes_dict[src], h.num_nodes_dict[dst]
        e = draw(st.integers(0, max_edges)) if ns and nd else 0
        store = h.edge_store((src, f"r{r}", dst))
        store.set("edge_index", torch.stack([torch.randint(0, max(ns, 1), (e,), generator=gen),
                                             torch.randint(0, max(nd, 1), (e,), generator=gen)]))
        if draw(st.booleans()):
            store.set("edge_attr", torch.randn(e, 2, generator=gen))
    if globals_ and draw(st.booleans()):
        h.graph_label = torch.randint(0, 5, (1,), generator=gen)
    return h


def assert_hetero_equal(a: "HeteroGraph", b: "HeteroGraph") -> None:
    """Same metadata (in order), counts, and per-type fields with the same dtypes and values; same globals."""
    assert a.metadata() == b.metadata(), (a.metadata(), b.metadata())
    assert a.num_nodes_dict == b.num_nodes_dict, (a.num_nodes_dict, b.num_nodes_dict)
    for key, store in [*a.node_items(), *a.edge_items()]:
        other = b[key]
        assert sorted(store.keys()) == sorted(other.keys()), (key, store.keys(), other.keys())
        for name, va in store:
            vb = other[name]
            assert va.dtype == vb.dtype and va.shape == vb.shape and torch.equal(va, vb), (key, name, va, vb)
    ga, gb = a.globals(), b.globals()
    assert sorted(ga) == sorted(gb), (ga, gb)
    for name, va in ga.items():
        vb = gb[name]
        assert (torch.equal(va, vb) and va.dtype == vb.dtype) if isinstance(va, torch.Tensor) else va == vb, name
