"""SAGPooling against PyG, with its default GraphConv scorer and with a GCNConv scorer."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import GCNConv
from graphkit.nn.pool import SAGPooling
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("gnn,kwargs", [("GraphConv", {"ratio": 0.5}), ("GCNConv", {"ratio": 3}),
                                        ("GraphConv", {"min_score": 0.1, "multiplier": 0.5})],
                         ids=["graphconv", "gcn", "min_score"])
def test_sag_pooling_matches_pyg(dtype, gnn, kwargs, pool_batch, same_tuple) -> None:
    pyg = require_peer("torch_geometric")
    b = pool_batch(dtype, sizes=(6, 0, 9, 5))  # the 3-node member has exactly tied GCN scores
    ours_gnn = {"GraphConv": SAGPooling.__init__.__defaults__[1], "GCNConv": GCNConv}[gnn]
    outs = {}

    def run(side):
        def call(m, kw):
            out = m(kw["x"], b.edge_index, b.edge_attr, b.batch)
            outs[side] = tuple(out)
            return torch.cat([out[0].flatten(), out[5]])
        return call

    assert_matches_pyg(SAGPooling(5, GNN=ours_gnn, **kwargs), pyg.nn.SAGPooling(5, GNN=getattr(pyg.nn, gnn), **kwargs),
                       b, call=run("ours"), pyg_call=run("pyg"), dtype=dtype)
    same_tuple(outs["ours"], outs["pyg"], dtype)


def test_graph_call_keeps_fields(pool_batch) -> None:
    b = pool_batch()
    out = SAGPooling(5, ratio=0.5).double()(b.x, b)
    assert out.graph.num_graphs == b.num_graphs
    torch.testing.assert_close(out.graph.label, b.label[out.perm])
    assert "SAGPooling(GraphConv, 5, ratio=0.5" in repr(SAGPooling(5))
