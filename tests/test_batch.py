"""Batch: offsets, bookkeeping and the exact round trip."""
from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkit import Batch, Graph
from graphkit.data import collate
from graphkit.testing.strategies import assert_graphs_equal, graphs


@settings(max_examples=60, deadline=None)
@given(st.lists(graphs(), min_size=1, max_size=6))
def test_round_trip_is_exact(parts: list) -> None:
    # every graph needs the same fields: keep only the first graph's optional fields on all of them
    keys = set(parts[0].keys())
    parts = [p for p in parts if set(p.keys()) == keys]
    batch = Batch.from_graphs(parts)
    assert batch.num_graphs == len(parts)
    assert batch.num_nodes == sum(p.num_nodes for p in parts)
    assert batch.num_edges == sum(p.num_edges for p in parts)
    assert batch.batch.numel() == batch.num_nodes
    for back, orig in zip(batch.to_graphs(), parts):
        assert_graphs_equal(back, orig)


@settings(max_examples=40, deadline=None)
@given(st.lists(graphs(fields=False), min_size=1, max_size=5))
def test_edges_never_join_two_graphs(parts: list) -> None:
    batch = Batch.from_graphs(parts)
    ei = batch.edge_index_or_empty()
    assert torch.equal(batch.batch[ei[0]], batch.batch[ei[1]])
    # the batch's CSR is the block-diagonal union of the parts' CSRs
    rowptr, col, _ = batch.csr()
    for i, p in enumerate(parts):
        n0 = int(batch.ptr[i])
        prow, pcol, _ = p.csr()
        seg = rowptr[n0 : n0 + p.num_nodes + 1]
        assert torch.equal(seg - seg[0], prow)
        assert torch.equal(col[seg[0] : seg[-1]] - n0, pcol)


def test_zero_node_and_zero_edge_graphs() -> None:
    empty = Graph(x=torch.zeros(0, 2), y=torch.tensor(3))
    lonely = Graph(x=torch.ones(2, 2), y=torch.tensor(4))
    full = Graph(x=torch.ones(2, 2), edge_index=torch.tensor([[0], [1]]), y=torch.tensor(5))
    batch = Batch.from_graphs([empty, lonely, full, empty])
    assert batch.ptr.tolist() == [0, 0, 2, 4, 4]
    assert batch.edge_index.tolist() == [[2], [3]]
    assert batch.y.tolist() == [3, 4, 5, 3]
    out = batch.to_graphs()
    assert out[0].edge_index is None and out[2].edge_index.tolist() == [[0], [1]]
    for a, b in zip(out, [empty, lonely, full, empty]):
        assert_graphs_equal(a, b)


def test_node_index_fields_are_offset_and_graph_fields_keep_shape() -> None:
    a = Graph(pos=torch.randn(3, 3), face=torch.tensor([[0], [1], [2]]), t=torch.randn(1, 4),
              name="a", kinds={"face": "node_index", "t": "graph"})
    b = Graph(pos=torch.randn(4, 3), face=torch.tensor([[0, 1], [1, 2], [2, 3]]), t=torch.randn(1, 4),
              name="b", kinds={"face": "node_index", "t": "graph"})
    batch = Batch.from_graphs([a, b])
    assert batch.face.tolist() == [[0, 3, 4], [1, 4, 5], [2, 5, 6]]
    assert batch.t.shape == (2, 4) and batch.name == ["a", "b"]
    for x, y in zip(batch.to_graphs(), [a, b]):
        assert_graphs_equal(x, y)


def test_mismatched_fields_are_refused() -> None:
    a = Graph(x=torch.randn(2, 1))
    b = Graph(x=torch.randn(2, 1), z=torch.randn(2))
    with pytest.raises(ValueError, match="same fields"):
        Batch.from_graphs([a, b])
    with pytest.raises(ValueError, match="different dtypes"):
        Batch.from_graphs([a, Graph(x=torch.randn(2, 1, dtype=torch.float64))])
    with pytest.raises(ValueError, match="at least one graph"):
        Batch.from_graphs([])
    with pytest.raises(TypeError, match="graphs\\[1\\] is a Tensor"):
        Batch.from_graphs([a, torch.zeros(1)])


def test_batch_saves_with_weights_only_and_moves() -> None:
    parts = [Graph(x=torch.randn(n, 2), edge_index=torch.tensor([[0], [n - 1]]), y=torch.tensor(n)) for n in (1, 3)]
    batch = Batch.from_graphs(parts)
    _ = batch.batch
    buf = io.BytesIO()
    torch.save(batch, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=True)
    assert isinstance(back, Batch) and back.num_graphs == 2
    assert torch.equal(back.batch, batch.batch)
    for x, y in zip(back.to(torch.device("cpu")).to_graphs(), parts):
        assert_graphs_equal(x, y)


def test_collate_for_dataloader() -> None:
    parts = [Graph(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]])) for _ in range(5)]
    loader = torch.utils.data.DataLoader(parts, batch_size=2, collate_fn=collate)
    sizes = [b.num_graphs for b in loader]
    assert sizes == [2, 2, 1]


def test_pyg_habits_batch_index_and_data_list() -> None:
    a = Graph(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]]), y=torch.tensor([3]))
    b = Graph(x=torch.ones(1, 1), y=torch.tensor([4]))  # one node: y=[4] is still the graph's label
    b.edge_index = torch.empty(2, 0, dtype=torch.long)
    batch = Batch.from_data_list([a, b])
    assert batch.y.tolist() == [3, 4] and batch["y"] is batch.y
    assert torch.equal(batch[1].x, b.x) and batch[-1].y.tolist() == [4]
    assert [g.num_nodes for g in batch.to_data_list()] == [2, 1]
    with pytest.raises(IndexError):
        batch[2]
    assert repr(batch) == "Batch(x=[3, 1], edge_index=[2, 1], y=[2] (graph), num_graphs=2)"


def test_kind_mismatch_error_names_the_fix() -> None:
    a = Graph(x=torch.zeros(2, 1), t=torch.tensor([1, 2]))  # read as per node
    b = Graph(x=torch.zeros(3, 1), t=torch.tensor([1, 2]))  # read as per graph
    with pytest.raises(ValueError, match=r"kinds=\{'t': 'node'\}"):
        Batch.from_graphs([a, b])


@pytest.mark.parametrize("field,kw", [
    ("x", [dict(x=torch.randn(2, 3)), dict(x=torch.randn(2, 4))]),
    ("edge_attr", [dict(x=torch.randn(2, 1), edge_attr=torch.randn(2, 2)),
                   dict(x=torch.randn(2, 1), edge_attr=torch.randn(2, 5))]),
])
def test_shape_mismatch_names_the_field(field: str, kw: list) -> None:
    ei = torch.tensor([[0, 1], [1, 0]])
    graphs = [Graph(edge_index=ei, **k) for k in kw]
    with pytest.raises(ValueError, match=f"field '{field}' has trailing shape .* in graphs\\[1\\]"):
        Batch.from_graphs(graphs)


def test_from_parts_builds_a_batch_that_splits_again() -> None:
    union = Graph(x=torch.arange(5.0).view(5, 1), edge_index=torch.tensor([[0, 2, 3], [1, 4, 2]]),
                  lab=torch.tensor([7, 8]), kinds={"lab": "graph"})
    batch = Batch.from_parts(union, torch.tensor([0, 2, 5]), torch.tensor([0, 1, 3]),
                             meta={"extra": torch.tensor([1])})
    first, second = batch.to_graphs()
    assert first.edge_index.tolist() == [[0], [1]] and second.edge_index.tolist() == [[0, 1], [2, 0]]
    assert second.x.view(-1).tolist() == [2.0, 3.0, 4.0] and int(second.lab) == 8
    assert batch.clone().meta("extra").tolist() == [1]
