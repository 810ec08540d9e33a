"""HeteroGraph: PyG-style access, the one typed structure, the homogeneous view, transfers, files, bad input."""
from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings

from graphkit import Batch, HeteroBatch, HeteroGraph
from graphkit.hetero import check_metadata
from graphkit.ops import spmm
from graphkit.testing import assert_raises_in_subprocess
from graphkit.testing.strategies import assert_hetero_equal, hetero_graphs

SETTINGS = settings(max_examples=30, deadline=None)
W = ("author", "writes", "paper")
C = ("paper", "cites", "paper")


def small() -> HeteroGraph:
    h = HeteroGraph()
    h["author"].num_nodes = 3
    h["paper"].x = torch.arange(8.0).view(4, 2)
    h["paper"].y = torch.tensor([0, 1, 1, 0])
    h[W].edge_index = torch.tensor([[0, 1, 2, 2], [0, 0, 1, 3]])
    h[W].edge_attr = torch.arange(4.0).view(4, 1)
    h[C].edge_index = torch.tensor([[1, 2, 3], [0, 0, 2]])
    return h


def test_pyg_style_access() -> None:
    h = small()
    assert h.metadata() == (["author", "paper"], [W, C])
    assert h["paper"].x.shape == (4, 2) and h["author"].x is None
    assert h["writes"] is h[W] and h["author", "paper"] is h[W]
    assert set(h.x_dict) == {"paper"} and set(h.edge_index_dict) == {W, C}
    assert h.num_nodes_dict == {"author": 3, "paper": 4} and h.num_edges == 7
    assert h.collect("edge_attr") == {W: h[W].edge_attr}
    h.y = torch.tensor([1])
    assert h.y.tolist() == [1] and "y" in h.globals()


def test_one_typed_structure_serves_every_op() -> None:
    h = small()
    adj = h.adj
    assert adj.num_src == adj.num_dst == 7
    # authors are 0..2, papers 3..6; writes edges first, then cites
    assert adj.edge_index.tolist() == [[0, 1, 2, 2, 4, 5, 6], [3, 3, 4, 6, 3, 3, 5]]
    assert h.edge_type.tolist() == [0, 0, 0, 0, 1, 1, 1] and h.node_type.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert h.adj is adj  # memoised
    x = torch.randn(7, 3, dtype=torch.float64)
    ref = torch.zeros(7, 3, dtype=torch.float64).index_add_(0, adj.dst, x[adj.src])
    assert torch.allclose(spmm(h, x), ref)  # a HeteroGraph is an AdjLike: the kernels take it unchanged
    h[C].edge_index = torch.tensor([[0], [1]])
    assert h.adj is not adj and h.num_edges == 5  # a new edge_index drops the structure


def test_relation_csr_groups_by_relation_then_target() -> None:
    h = small()
    rowptr, col, perm = h.relation_csr()
    off = h.relation_row_offset().tolist()
    assert off == [0, 4, 8]
    for r, et in enumerate(h.edge_types):
        ei = h[et].edge_index
        base = int(h.edge_ptr[r])
        for v in range(h.num_nodes_dict[et[2]]):
            a, b = int(rowptr[off[r] + v]), int(rowptr[off[r] + v + 1])
            want = (ei[1] == v).nonzero().view(-1) + base
            assert perm[a:b].tolist() == want.tolist()
            assert col[a:b].tolist() == h.adj.src[want].tolist()


def test_in_place_edit_drops_structure() -> None:
    h = small()
    before = h.adj
    h[C].edge_index[0, 0] = 3
    assert h.adj is not before and h.adj.edge_index[0, 4].item() == 6


@SETTINGS
@given(hetero_graphs())
def test_homogeneous_round_trip_is_exact(h: HeteroGraph) -> None:
    g = h.to_homogeneous()
    assert g.num_nodes == h.num_nodes and g.num_edges == h.num_edges
    back = HeteroGraph.from_homogeneous(g, *h.metadata())
    # to_homogeneous keeps the fields every type shares; compare against h with only those
    kept = h.clone()
    for key, store in [*kept.node_items(), *kept.edge_items()]:
        for name in store.keys():
            if name != "edge_index" and name not in g:
                store.remove(name)
    assert_hetero_equal(back, kept)


def test_to_homogeneous_strict_names_the_field() -> None:
    h = small()
    with pytest.raises(ValueError, match="node field 'x' cannot be stacked"):
        h.to_homogeneous(strict=True)
    h["author"].x = torch.zeros(3, 2)
    h["author"].y = torch.zeros(3, dtype=torch.long)
    h[C].edge_attr = torch.zeros(3, 1)
    g = h.to_homogeneous(strict=True)
    assert g.x.shape == (7, 2) and g.edge_attr.shape == (7, 1)
    assert_hetero_equal(HeteroGraph.from_homogeneous(g, *h.metadata()), h)


def test_from_homogeneous_rejects_wrong_types() -> None:
    g = small().to_homogeneous()
    with pytest.raises(ValueError, match="edge_type has index 1 but the number of edge_types given is 1"):
        HeteroGraph.from_homogeneous(g, ["author", "paper"], [W])
    with pytest.raises(ValueError, match=r"edge 4 has edge_type 1 = \('author', 'cites', 'paper'\), but its "
                                         "endpoint 4 has node_type 'paper', not 'author'"):
        HeteroGraph.from_homogeneous(g, ["author", "paper"], [W, ("author", "cites", "paper")])


@SETTINGS
@given(hetero_graphs())
def test_save_load_weights_only(h: HeteroGraph) -> None:
    buf = io.BytesIO()
    torch.save(h, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=True)
    assert type(back) is HeteroGraph
    assert_hetero_equal(back, h)


def test_load_rechecks_a_corrupt_file() -> None:
    h = small()
    state = h.__getstate__()
    state["edges"][W]["edge_index"] = torch.tensor([[0], [9]])
    bad = HeteroGraph.__new__(HeteroGraph)
    with pytest.raises(ValueError, match="edge_index\\[1\\] has index 9 but num_nodes of node type 'paper' is 4"):
        bad.__setstate__(state)


def test_to_clone_and_pin_memory() -> None:
    h = small()
    h.relation_csr()
    c = h.clone()
    assert_hetero_equal(c, h)
    assert c["paper"].x is not h["paper"].x
    assert h.adj.has("relation_csr") and c.adj.edge_index is not h.adj.edge_index
    moved = h.to("cpu")
    assert_hetero_equal(moved, h)
    if torch.cuda.is_available():
        assert h.pin_memory()["paper"].x.is_pinned()


@SETTINGS
@given(hetero_graphs())
def test_batch_round_trip(a: HeteroGraph) -> None:
    b = a.clone()  # the same schema with other values (flipped rows)
    for nt, store in b.node_items():
        for name, value in store:
            store.set(name, value.flip(0) if value.numel() else value)
    batch = Batch.from_graphs([a, b, a])
    assert isinstance(batch, HeteroBatch) and batch.num_graphs == 3
    assert batch.num_nodes == 3 * a.num_nodes and batch.num_edges == 3 * a.num_edges
    for orig, part in zip([a, b, a], batch.to_graphs()):
        assert_hetero_equal(part, orig)
    buf = io.BytesIO()
    torch.save(batch, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=True)
    for orig, part in zip([a, b, a], back.to_graphs()):
        assert_hetero_equal(part, orig)


def test_batch_offsets_per_type() -> None:
    h = small()
    batch = HeteroBatch.from_graphs([h, h])
    assert batch[W].edge_index[:, 4:].tolist() == [[3, 4, 5, 5], [4, 4, 5, 7]]
    assert batch.ptr_dict["author"].tolist() == [0, 3, 6]
    assert batch.batch_dict["paper"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_batch_rejects_different_schemas() -> None:
    h, other = small(), small()
    other["author"].x = torch.zeros(3, 1)
    with pytest.raises(ValueError, match="'author' has fields"):
        HeteroBatch.from_graphs([h, other])
    other = small()
    other["paper", "rev", "author"].edge_index = torch.zeros(2, 0, dtype=torch.long)
    with pytest.raises(ValueError, match="metadata"):
        HeteroBatch.from_graphs([h, other])


# --------------------------------------------------------------------------------------- the bad input
def test_bad_relation_endpoint_type() -> None:
    h = small()
    with pytest.raises(ValueError, match="names node type 'venue', which the graph does not have"):
        h["paper", "at", "venue"].edge_index = torch.tensor([[0], [0]])


def test_bad_index_beyond_type_count() -> None:
    h = small()
    with pytest.raises(ValueError, match=r"edge type \('author', 'writes', 'paper'\): edge_index\[0\] has index 3 "
                                         "but num_nodes of node type 'author' is 3"):
        h[W].edge_index = torch.tensor([[3], [0]])
    with pytest.raises(ValueError, match="edge_index\\[1\\] has index 7 but num_nodes of node type 'paper' is 4"):
        HeteroGraph({"author": 3, "paper": 4}, {W: torch.tensor([[0], [7]])})
    with pytest.raises(ValueError, match="negative index -1"):
        h[W].edge_index = torch.tensor([[-1], [0]])
    with pytest.raises(ValueError, match="field 'x' has 4 rows but num_nodes is 2"):
        h["paper"].num_nodes = 2


def test_bad_field_length() -> None:
    h = small()
    with pytest.raises(ValueError, match="node type 'paper': field 'z' has 5 rows but num_nodes is 4"):
        h["paper"].z = torch.zeros(5)
    with pytest.raises(ValueError, match=r"edge type \('author', 'writes', 'paper'\): field 'w' has 2 rows but "
                                         "num_edges is 4"):
        h[W].w = torch.zeros(2)
    with pytest.raises(ValueError, match="node type 'author': field 'x' must be a tensor with one row per node"):
        h["author"].x = 3.0


def test_bad_missing_feature_for_a_layer() -> None:
    h = small()
    assert set(h.require("x", ["paper"])) == {"paper"}
    with pytest.raises(ValueError, match="node type 'author' has no field 'x', which RGCN needs"):
        h.require("x", by="RGCN")


def test_bad_metadata() -> None:
    h = small()
    assert check_metadata(h.metadata(), h) == h.metadata()
    with pytest.raises(ValueError, match="the graph lacks edge type \\('paper', 'rev', 'author'\\)"):
        check_metadata((["author", "paper"], [W, C, ("paper", "rev", "author")]), h)
    with pytest.raises(ValueError, match="has node type 'venue', which is not in its node types"):
        check_metadata((["author", "paper"], [("paper", "at", "venue")]))
    with pytest.raises(ValueError, match="the metadata lacks node type 'author'"):
        check_metadata((["paper"], [C]), h)


def test_bad_input_in_subprocess_reaching_kernels() -> None:
    # an edge_index edited behind torch's back past its type's count: validate() finds it before a kernel reads it
    assert_raises_in_subprocess(
        """
import torch
from graphkit import HeteroGraph
from graphkit.ops import spmm
h = HeteroGraph({"a": 2, "b": 3}, {("a", "r", "b"): torch.tensor([[0, 1], [2, 0]])})
spmm(h, torch.ones(5, 1))
h["r"].edge_index.numpy()[1, 0] = 40
h.validate()
spmm(h, torch.ones(5, 1))
""",
        "ValueError",
        "edge_index[1] has index 40 but num_nodes of node type 'b' is 3",
    )
