"""Interop round trips against the real peers: PyG, DGL, networkx and scipy."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkit import Batch, Graph
from graphkit.interop import (
    from_dgl,
    from_networkx,
    from_pyg,
    from_scipy,
    to_dgl,
    to_networkx,
    to_pyg,
    to_scipy,
)
from graphkit.testing import require_peer
from graphkit.testing.strategies import assert_graphs_equal, graphs

SETTINGS = settings(max_examples=25, deadline=None)


def _same_fields(parts: list) -> list:
    keys = set(parts[0].keys())
    return [p for p in parts if set(p.keys()) == keys]


@SETTINGS
@given(graphs())
def test_pyg_graph_round_trip(g: Graph) -> None:
    require_peer("torch_geometric")
    data = to_pyg(g)
    assert data.num_nodes == g.num_nodes and data.num_edges == g.num_edges
    assert_graphs_equal(from_pyg(data), g)


@SETTINGS
@given(st.lists(graphs(), min_size=1, max_size=4))
def test_pyg_batch_round_trip(parts: list) -> None:
    require_peer("torch_geometric")
    parts = _same_fields(parts)
    batch = Batch.from_graphs(parts)
    pyg_batch = to_pyg(batch)
    assert pyg_batch.num_graphs == len(parts)
    assert torch.equal(pyg_batch.batch, batch.batch) and torch.equal(pyg_batch.edge_index, batch.edge_index_or_empty())
    back = from_pyg(pyg_batch)
    assert isinstance(back, Batch)
    for a, b in zip(back.to_graphs(), parts):
        assert_graphs_equal(a, b, ordered_edges=True) if b.edge_index is not None else None


def test_from_native_pyg_data_uses_pyg_kinds() -> None:
    pyg = require_peer("torch_geometric")
    data = pyg.data.Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
                         edge_attr=torch.randn(3, 5), y=torch.tensor([1]), face=torch.tensor([[0], [1], [2]]))
    g = from_pyg(data)
    assert (g.kind("x"), g.kind("edge_attr"), g.kind("y"), g.kind("face")) == ("node", "edge", "graph", "node_index")
    batch = pyg.data.Batch.from_data_list([data, data])
    gb = from_pyg(batch)
    assert torch.equal(gb.face, batch.face) and torch.equal(gb.edge_index, batch.edge_index)


@SETTINGS
@given(graphs())
def test_dgl_graph_round_trip(g: Graph) -> None:
    require_peer("dgl")
    dg = to_dgl(g)
    assert dg.num_nodes() == g.num_nodes and dg.num_edges() == g.num_edges
    assert_graphs_equal(from_dgl(dg), g if g.edge_index is not None else g)


@settings(max_examples=15, deadline=None)
@given(st.lists(graphs(min_nodes=1), min_size=2, max_size=4))
def test_dgl_batch_round_trip(parts: list) -> None:
    dgl = require_peer("dgl")
    parts = _same_fields(parts)
    batch = Batch.from_graphs(parts)
    dg = to_dgl(batch)
    assert dg.batch_size == len(parts)
    assert torch.equal(dg.batch_num_nodes(), batch.ptr[1:] - batch.ptr[:-1])
    back = from_dgl(dg)
    for a, b in zip(back.to_graphs(), parts):
        assert_graphs_equal(a, b)
    # a batch made by DGL itself (no graphkit bookkeeping) also comes back as a Batch
    native = dgl.batch([dgl.graph(([0], [1]), num_nodes=2), dgl.graph(([0, 1], [1, 2]), num_nodes=3)])
    nb = from_dgl(native)
    assert isinstance(nb, Batch) and nb.ptr.tolist() == [0, 2, 5]


@SETTINGS
@given(graphs())
def test_networkx_round_trip(g: Graph) -> None:
    require_peer("networkx")
    G = to_networkx(g)
    assert G.number_of_nodes() == g.num_nodes and G.number_of_edges() == g.num_edges
    assert_graphs_equal(from_networkx(G), g, ordered_edges=False)


def test_from_undirected_networkx_gives_both_directions() -> None:
    nx = require_peer("networkx")
    G = nx.karate_club_graph()
    with pytest.warns(UserWarning, match="node attribute 'club' left out"):
        g = from_networkx(G)
    assert g.num_nodes == 34 and g.num_edges == 2 * G.number_of_edges()
    assert torch.equal(g.csr()[0][1:] - g.csr()[0][:-1], torch.tensor([d for _, d in G.degree()]))
    assert g.kind("weight") == "edge" and g.name == "Zachary's Karate Club" and "club" not in g


@SETTINGS
@given(graphs(fields=False))
def test_scipy_round_trip(g: Graph) -> None:
    require_peer("scipy")
    g.set("edge_weight", torch.rand(g.num_edges, dtype=torch.float64))
    A = to_scipy(g)
    assert A.shape == (g.num_nodes, g.num_nodes) and A.nnz == g.num_edges
    assert_graphs_equal(from_scipy(A), g)
    dense = torch.from_numpy(to_scipy(g, format="csr").toarray())
    ref = torch.zeros(g.num_nodes, g.num_nodes, dtype=torch.float64)
    ei = g.edge_index_or_empty()
    ref.index_put_((ei[0], ei[1]), g.edge_weight, accumulate=True)
    assert torch.allclose(dense, ref)


def test_interop_type_errors() -> None:
    with pytest.raises(TypeError, match="expects a graphkit Graph"):
        to_pyg(torch.zeros(2))
    with pytest.raises(TypeError, match="scipy.sparse"):
        from_scipy(torch.zeros(2, 2))


def test_missing_peer_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # ux.md P27: a dotted name used to turn the install hint into KeyError: 'torch_geometric.data'.
    import sys

    from graphkit.interop import to_pyg

    for name in [m for m in sys.modules if m == "torch_geometric" or m.startswith("torch_geometric.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # makes the import fail as if not installed
    with pytest.raises(ImportError, match=r"needs 'torch_geometric'.*pip install torch-geometric==2\.8\.1"):
        to_pyg(Graph(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]])))
