"""Transforms on arbitrary graphs (empty ones, isolated nodes, loops, parallel edges, extra fields of every kind):
the result is a valid Graph, the input is untouched, and each transform's defining property holds."""
from __future__ import annotations

import torch
from hypothesis import given, settings

from graphkit import Batch, Graph
from graphkit import transforms as T
from graphkit.testing.strategies import assert_graphs_equal, graphs
from graphkit.utils import contains_self_loops, is_undirected


@settings(max_examples=8, deadline=None)
@given(graphs())
def test_structure_transforms_keep_graphs_valid(g: Graph) -> None:
    before = g.clone()
    no_loops = T.RemoveSelfLoops()(g).validate()
    assert not contains_self_loops(no_loops.edge_index) if no_loops.num_edges else True
    assert no_loops.num_nodes == g.num_nodes
    und = T.ToUndirected()(g).validate()
    assert is_undirected(und.edge_index, num_nodes=und.num_nodes)
    kept = T.RemoveIsolatedNodes()(g).validate()
    touched = torch.unique(g.edge_index.reshape(-1)).numel() if g.num_edges else 0
    assert kept.num_nodes == touched and kept.num_edges == g.num_edges
    virtual = T.VirtualNode()(g).validate()
    assert virtual.num_nodes == g.num_nodes + 1 and virtual.num_edges == g.num_edges + 2 * g.num_nodes
    assert_graphs_equal(g, before)


@settings(max_examples=5, deadline=None)
@given(graphs(min_nodes=1))
def test_feature_transforms_and_batches(g: Graph) -> None:
    out = T.Compose([T.NormalizeFeatures(), T.OneHotDegree(64)])(g).validate()
    assert out.x.shape == (g.num_nodes, 3 + 65)
    assert bool((out.x[:, :3] >= 0).all())
    batch = Batch.from_graphs([g, g])
    both = T.ToUndirected()(batch)
    assert isinstance(both, Batch) and both.num_graphs == 2
    assert_graphs_equal(both.to_graphs()[1], T.ToUndirected()(g))
