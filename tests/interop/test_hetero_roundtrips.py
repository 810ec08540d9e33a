"""HeteroGraph <-> PyG HeteroData and DGL heterographs: lossless round trips against the installed peers."""
from __future__ import annotations

import torch
from hypothesis import given, settings

from graphkit import HeteroGraph
from graphkit.interop import from_dgl, from_pyg, to_dgl, to_pyg
from graphkit.testing import import_dgl, require_peer
from graphkit.testing.strategies import assert_hetero_equal, hetero_graphs

SETTINGS = settings(max_examples=25, deadline=None)


@SETTINGS
@given(hetero_graphs())
def test_pyg_hetero_round_trip(h: HeteroGraph) -> None:
    require_peer("torch_geometric")
    data = to_pyg(h)
    assert type(data).__name__ == "HeteroData"
    assert data.metadata() == h.metadata()
    for nt in h.node_types:
        assert data[nt].num_nodes == h.num_nodes_dict[nt]
    assert_hetero_equal(from_pyg(data), h)


def test_from_pyg_reads_a_pyg_built_heterodata() -> None:
    pyg = require_peer("torch_geometric")
    data = pyg.data.HeteroData()
    data["paper"].x = torch.randn(4, 3)
    data["author"].num_nodes = 2
    data["author", "writes", "paper"].edge_index = torch.tensor([[0, 1], [3, 0]])
    data["paper", "cites", "paper"].edge_index = torch.tensor([[0], [1]])
    data.year = 2020
    h = from_pyg(data)
    assert h.metadata() == (["paper", "author"], [("author", "writes", "paper"), ("paper", "cites", "paper")])
    assert h.num_nodes_dict == {"paper": 4, "author": 2} and h.year == 2020
    assert torch.equal(h["writes"].edge_index, data["writes"].edge_index)
    # PyG's own homogeneous view and ours agree on the global edge list (same type order, same offsets)
    homo = data.to_homogeneous(add_node_type=True, add_edge_type=True)
    assert torch.equal(homo.edge_index, h.to_homogeneous().edge_index)
    assert torch.equal(homo.edge_type, h.edge_type) and torch.equal(homo.node_type, h.node_type)


@SETTINGS
@given(hetero_graphs())
def test_dgl_hetero_round_trip(h: HeteroGraph) -> None:
    dgl = import_dgl()
    g = to_dgl(h)
    assert sorted(g.canonical_etypes) == sorted(h.edge_types)
    for et in h.edge_types:
        assert g.num_edges(et) == h[et].num_edges
    assert_hetero_equal(from_dgl(g), h)
    assert isinstance(g, dgl.DGLGraph)


def test_from_dgl_reads_a_dgl_built_heterograph() -> None:
    dgl = import_dgl()
    g = dgl.heterograph({("user", "rates", "item"): (torch.tensor([0, 1, 1]), torch.tensor([2, 0, 1])),
                         ("item", "rev", "user"): (torch.tensor([2]), torch.tensor([0]))},
                        num_nodes_dict={"user": 2, "item": 3})
    g.nodes["item"].data["x"] = torch.randn(3, 4)
    g.edges["rates"].data["w"] = torch.tensor([1.0, 2.0, 3.0])
    h = from_dgl(g)
    assert set(h.node_types) == {"user", "item"} and h.num_nodes_dict["item"] == 3
    assert h["rates"].edge_index.tolist() == [[0, 1, 1], [2, 0, 1]]
    assert torch.equal(h["rates"].w, g.edges["rates"].data["w"])
    assert torch.equal(h["item"].x, g.nodes["item"].data["x"])
