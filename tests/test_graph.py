"""Graph: field kinds, the cached CSR, validation and persistence."""
from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings

from graphkit import Graph
from graphkit.testing import assert_raises_in_subprocess
from graphkit.testing.strategies import assert_graphs_equal, graphs


def test_kinds_are_recorded_not_guessed_from_names() -> None:
    g = Graph(
        x=torch.randn(4, 2),
        edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
        y=torch.tensor([1, 0, 1, 0]),
        face=torch.tensor([[0], [1], [2]]),
        score=torch.randn(3),
        label=torch.tensor([7]),
        kinds={"face": "node_index", "label": "graph"},
    )
    assert g.kind("x") == "node" and g.kind("y") == "node"
    assert g.kind("face") == "node_index" and g.kind("score") == "edge" and g.kind("label") == "graph"
    # Only x, pos, edge_attr and edge_weight are fixed by name; everything else follows its declared kind.
    with pytest.raises(ValueError, match="always 'node'"):
        Graph(x=torch.randn(2, 2), kinds={"x": "graph"})


def test_ambiguous_field_needs_a_declared_kind() -> None:
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="cannot tell whether field 'w'"):
        Graph(x=torch.randn(2, 1), edge_index=ei, w=torch.randn(2))
    g = Graph(x=torch.randn(2, 1), edge_index=ei, w=torch.randn(2), kinds={"w": "edge"})
    assert g.kind("w") == "edge"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(edge_index=torch.tensor([[0.0, 1.0], [1.0, 0.0]])), TypeError, "edge_index must be an integer"),
        (dict(edge_index=torch.tensor([0, 1])), ValueError, "shape [2, E]"),
        (dict(x=torch.randn(3, 1), edge_index=torch.tensor([[0, 17], [1, 2]])), ValueError,
         "edge_index[0] has index 17 but num_nodes is 3"),
        (dict(edge_index=torch.tensor([[0, -2], [1, 2]])), ValueError, "edge_index[0] has negative index -2"),
        (dict(edge_index=torch.tensor([[0, 1], [1, 5]]), num_nodes=3), ValueError,
         "edge_index[1] has index 5 but num_nodes is 3"),
        (dict(x=torch.randn(3, 1), num_nodes=4), ValueError, "field 'x' has 3 rows but num_nodes is 4"),
        (dict(edge_index=torch.tensor([[0], [1]]), edge_attr=torch.randn(2, 1)), ValueError,
         "field 'edge_attr' has 2 rows but num_edges is 1"),
        (dict(num_nodes=-1), ValueError, "num_nodes must be a non-negative int"),
        (dict(x=[1, 2]), TypeError, "node field 'x' must be a torch.Tensor"),
    ],
)
def test_bad_input_names_the_field_and_value(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error) as info:
        Graph(**kwargs)
    assert match in str(info.value)


def test_validate_finds_nan_and_device_mismatch() -> None:
    x = torch.randn(3, 2)
    x[1, 1] = float("nan")
    g = Graph(x=x, edge_index=torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r"x has a non-finite value nan at \[1, 1\]"):
        g.validate()
    # NaN labels are legitimate (OGB multi-task sets use them for missing labels).
    Graph(x=torch.randn(2, 1), y=torch.tensor([float("nan"), 1.0])).validate()


def test_bad_input_in_subprocess_is_an_exception_not_a_crash() -> None:
    assert_raises_in_subprocess(
        "import torch, graphkit\n"
        "graphkit.Graph(x=torch.randn(12, 2), edge_index=torch.tensor([[0, 1], [1, 17]]))",
        "ValueError",
        "edge_index[1] has index 17 but num_nodes is 12",
    )


def test_csr_groups_incoming_edges_by_target_and_is_cached() -> None:
    ei = torch.tensor([[2, 0, 1, 2, 0], [1, 1, 2, 0, 1]])
    g = Graph(edge_index=ei, num_nodes=4)
    rowptr, col, perm = g.csr()
    assert rowptr.tolist() == [0, 1, 4, 5, 5]
    assert col.tolist() == [2, 2, 0, 0] + [1]  # targets 0 | 1 (stable) | 2
    assert torch.equal(ei[1, perm], torch.tensor([0, 1, 1, 1, 2]))
    assert torch.equal(ei[0, perm], col)
    assert g.csr()[0] is rowptr  # cached: the same tensor comes back
    trowptr, tcol, tperm = g.csr_t()
    assert trowptr.tolist() == [0, 2, 3, 5, 5] and torch.equal(ei[1, tperm], tcol)


def test_csr_invalidated_when_edges_change() -> None:
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    first = g.csr()[0]
    g.edge_index = torch.tensor([[1, 2], [0, 0]])
    assert g.csr()[0].tolist() == [0, 2, 2, 2] and g.csr()[0] is not first
    g.edge_index[1, 0] = 2  # in place: the version counter tells
    assert g.csr()[0].tolist() == [0, 1, 1, 2]
    g.edge_index[0, 0] = 9  # an in-place write that breaks the bounds is caught at next use
    with pytest.raises(ValueError, match="edge_index\\[0\\] has index 9 but num_nodes is 3"):
        g.csr()


@settings(max_examples=60, deadline=None)
@given(graphs(fields=False))
def test_csr_matches_a_sort_of_the_edges(g: Graph) -> None:
    rowptr, col, perm = g.csr()
    ei = g.edge_index_or_empty()
    assert rowptr[-1].item() == g.num_edges and rowptr.numel() == g.num_nodes + 1
    assert torch.equal(torch.sort(perm).values, torch.arange(g.num_edges))
    tgt = ei[1, perm]
    assert torch.all(tgt[1:] >= tgt[:-1]) if g.num_edges > 1 else True
    counts = torch.bincount(ei[1], minlength=g.num_nodes)
    assert torch.equal(rowptr[1:] - rowptr[:-1], counts)
    # stable inside a row: edge ids increase within each target's segment
    for t in range(g.num_nodes):
        seg = perm[rowptr[t] : rowptr[t + 1]]
        assert torch.all(seg[1:] > seg[:-1]) if seg.numel() > 1 else True


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_save_and_load_with_weights_only(g: Graph) -> None:
    g.csr()
    buf = io.BytesIO()
    torch.save(g, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=True)
    assert type(back) is Graph
    assert_graphs_equal(g, back)
    assert torch.equal(back.csr()[0], g.csr()[0])


def test_to_clone_and_pin_memory_keep_fields_and_csr() -> None:
    g = Graph(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 2]]))
    g.csr()
    h = g.to("cpu")
    assert h.has_csr() and torch.equal(h.x, g.x)
    c = g.clone()
    c.x[0, 0] = 100.0
    assert g.x[0, 0] != 100.0
    if torch.cuda.is_available():  # pinning needs a CUDA runtime
        assert g.pin_memory().x.is_pinned()


def test_setting_fields_checks_sizes() -> None:
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]))
    assert g.num_nodes == 3
    g.x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="field 'pos' has 2 rows but num_nodes is 3"):
        g.pos = torch.randn(2, 3)
    g.set("w", torch.randn(2), kind="edge")
    assert g.kind("w") == "edge"
    del g.w
    assert "w" not in g and g.y is None
    with pytest.raises(AttributeError):
        _ = g.missing_field


def test_pyg_habits_index_items_and_repr_kinds() -> None:
    g = Graph(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 2]]), label=torch.tensor([1, 0, 1]))
    assert g["x"] is g.x and g["edge_index"] is g.edge_index
    g["w"] = torch.ones(2)
    assert g.kind("w") == "edge"
    with pytest.raises(KeyError, match="no field 'missing'"):
        g["missing"]
    assert [(n, k) for n, k, _ in g.items()] == [("x", "node"), ("label", "node"), ("w", "edge"),
                                                ("edge_index", "edge_index")]
    assert repr(g) == "Graph(x=[3, 2], label=[3] (node), edge_index=[2, 2], w=[2] (edge))"


@pytest.mark.parametrize("num_nodes", [1, 2, 3, 5])
def test_pyg_style_graph_label_is_a_graph_field_whatever_the_size(num_nodes: int) -> None:
    # ux.md P8: y=[c] used to be read as per node in a 1-node graph and per edge in a 2-node/1-edge one.
    ei = torch.tensor([[0], [num_nodes - 1]])
    g = Graph(x=torch.randn(num_nodes, 2), edge_index=ei, y=torch.tensor([1]))
    assert g.kind("y") == "graph"
    assert Graph(x=torch.randn(1, 2), y=torch.tensor([1]), kinds={"y": "node"}).kind("y") == "node"


def test_num_nodes_setter_checks_node_fields_and_type() -> None:
    g = Graph(x=torch.randn(3, 1))
    with pytest.raises(ValueError, match="field 'x' has 3 rows but num_nodes is 1"):
        g.num_nodes = 1
    with pytest.raises(ValueError, match="num_nodes must be a non-negative int"):
        g.num_nodes = 2.5
    assert g.num_nodes == 3


def test_huge_num_nodes_is_a_clear_error_and_meta_device_is_named() -> None:
    g = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2**62)
    with pytest.raises(ValueError, match="num_nodes is 4611686018427387904: its output would need"):
        g.csr()
    h = Graph(x=torch.randn(2, 1, device="meta"), edge_index=torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="fields live on different devices"):
        h.validate()


def test_a_tampered_file_is_rejected_on_load() -> None:
    t = Graph(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 2]]))
    state = t.__getstate__()
    state["_edge_index"] = torch.tensor([[0, 1], [1, 9]])
    bad = Graph.__new__(Graph)
    with pytest.raises(ValueError, match=r"edge_index\[1\] has index 9 but num_nodes is 3"):
        bad.__setstate__(state)
