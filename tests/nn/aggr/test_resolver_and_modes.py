"""Aggregations as PyG users pass them to ``MessagePassing``: ``"mul"`` and ``"lstm"`` (and every other
aggregation) by name, PyG's ``proj``/``attn`` multi-aggregation modes, and PyG's own aggregation objects."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

from graphkit import nn as gnn
from graphkit.nn import MessagePassing
from graphkit.nn.aggr import MulAggregation, MultiAggregation, aggr_resolver
from graphkit.testing import assert_matches_pyg, require_peer
from graphkit.testing.layers import random_graph


class Copy(MessagePassing):
    def forward(self, x: Tensor, adj: Any) -> Tensor:
        return self.propagate(adj, x=x)


def _sorted_graph(seed: int = 1):
    """Edges sorted by target (the LSTM aggregation needs it, in PyG too), some nodes without in-edges."""
    g = random_graph(16, 45, 4, seed=seed)
    ei = g.edge_index[:, g.edge_index[1] < 14]  # nodes 14, 15 receive nothing
    return type(g)(x=g.x, edge_index=ei[:, torch.argsort(ei[1], stable=True)], num_nodes=16)


@pytest.mark.parametrize("aggr,kwargs", [("mul", {}), ("lstm", {"in_channels": 4, "out_channels": 3}),
                                         ("powermean", {"learn": True}), ("median", {})])
def test_message_passing_aggregation_by_name_matches_pyg(aggr: str, kwargs: dict) -> None:
    pyg = require_peer("torch_geometric")

    class PygCopy(pyg.nn.MessagePassing):
        def forward(self, x: Tensor, ei: Tensor) -> Tensor:
            return self.propagate(ei, x=x, size=(16, 16))

    g = _sorted_graph()
    x = g.x.abs() + 0.5 if aggr == "powermean" else g.x  # PyG's power mean clamps at 0 (its domain)
    assert_matches_pyg(Copy(aggr=aggr, aggr_kwargs=kwargs), PygCopy(aggr=aggr, aggr_kwargs=kwargs), g,
                       inputs={"x": x})


def test_mul_gives_one_for_isolated_nodes_and_exact_gradients_at_zero() -> None:
    x = torch.tensor([[2.0], [0.0], [4.0]], dtype=torch.float64, requires_grad=True)
    out = MulAggregation()(x, torch.tensor([0, 0, 2]), dim_size=4)
    assert out.view(-1).tolist() == [0.0, 1.0, 4.0, 1.0]
    out.sum().backward()
    assert x.grad.view(-1).tolist() == [0.0, 2.0, 1.0]  # d(2*0)/dx1 = 2 although x1 = 0


@pytest.mark.parametrize("mode,mode_kwargs", [
    ("proj", {"in_channels": 4, "out_channels": 6}),
    ("attn", {"in_channels": 4, "out_channels": 6, "num_heads": 2}),
    ("logsumexp", {}), ("std", {}),
])
def test_multi_aggregation_modes_in_sage_match_pyg(mode: str, mode_kwargs: dict, pyg_sage: Any) -> None:
    g = random_graph(15, 50, 4, seed=5)
    kw = dict(aggr=["mean", "max", "sum"], aggr_kwargs={"mode": mode, "mode_kwargs": mode_kwargs})
    ours, theirs = gnn.SAGEConv(4, 3, **kw), pyg_sage(4, 3, **kw)
    assert_matches_pyg(ours, theirs, g)
    ours.fuse = False  # the message path combines the same way
    assert_matches_pyg(ours, theirs, g)


def test_multi_aggregation_mode_errors_name_what_is_missing() -> None:
    with pytest.raises(ValueError, match="needs mode_kwargs with in_channels and out_channels"):
        MultiAggregation(["mean", "max"], mode="proj")
    with pytest.raises(ValueError, match="combines several aggregations"):
        MultiAggregation(["mean"], mode="attn", mode_kwargs={"in_channels": 2, "out_channels": 2})
    with pytest.raises(ValueError, match="mode must be one of"):
        MultiAggregation(["mean", "max"], mode="concat")
    assert MultiAggregation(["mean", "max"], mode="proj",
                            mode_kwargs={"in_channels": 3, "out_channels": 7}).get_out_channels(3) == 7


@pytest.mark.parametrize("make", [
    lambda a: a.MulAggregation(),
    lambda a: a.MedianAggregation(),
    lambda a: a.LSTMAggregation(4, 4),
    lambda a: a.MultiAggregation(["mean", "max"], mode="proj", mode_kwargs={"in_channels": 4, "out_channels": 4}),
], ids=["mul", "median", "lstm", "multi-proj"])
def test_pyg_aggregation_objects_as_aggr_match_pyg(make: Any, pyg_sage: Any) -> None:
    """A PyG aggregation module passed as ``aggr`` is used as it is (parameters included, so the state_dicts
    agree), whether the layer is graphkit's or PyG's."""
    pyg = require_peer("torch_geometric")
    g = _sorted_graph(seed=2)
    torch.manual_seed(0)
    theirs = pyg_sage(4, 3, aggr=make(pyg.nn.aggr))
    ours = gnn.SAGEConv(4, 3, aggr=make(pyg.nn.aggr))
    assert not ours.fusable()
    assert_matches_pyg(ours, theirs, g)


def test_resolver_names_every_aggregation_and_refuses_unknown_ones() -> None:
    from graphkit.nn import LSTMAggregation, PowerMeanAggregation

    assert isinstance(aggr_resolver("mul"), MulAggregation)
    assert isinstance(aggr_resolver("PowerMeanAggregation"), PowerMeanAggregation)
    assert isinstance(aggr_resolver("lstm", in_channels=2, out_channels=2), LSTMAggregation)
    with pytest.raises(ValueError, match="got 'nope'"):
        aggr_resolver("nope")
