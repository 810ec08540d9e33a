"""ASAPooling against PyG: with and without edge weights, an intra-cluster GNN, and added self-loops."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import GraphConv
from graphkit.nn.pool import ASAPooling
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("weighted,gnn,kwargs", [(False, False, {}), (True, False, {"ratio": 2}),
                                                 (True, True, {"add_self_loops": True, "negative_slope": 0.1})],
                         ids=["plain", "weighted", "gnn_loops"])
def test_asap_matches_pyg(dtype, weighted, gnn, kwargs, pool_batch, same_tuple) -> None:
    pyg = require_peer("torch_geometric")
    # Not the 3-node member: its clusters are symmetric, so two nodes tie exactly and rounding picks the order.
    b = pool_batch(dtype, sizes=(6, 0, 9, 5))
    weight = torch.rand(b.num_edges, dtype=dtype, generator=torch.Generator().manual_seed(1)) + 0.5
    outs = {}

    def run(side):
        def call(m, kw):
            w = weight if weighted else None  # not a leaf: PyG cannot differentiate its CSR product by the weights
            if side == "pyg" and dtype == torch.float64:
                # PyG builds the unweighted adjacency in the default dtype and then fails on float64 inputs.
                old = torch.get_default_dtype()
                torch.set_default_dtype(torch.float64)
                try:
                    out = list(m(kw["x"], b.edge_index, w, b.batch))
                finally:
                    torch.set_default_dtype(old)
            else:
                out = list(m(kw["x"], b.edge_index, w, b.batch))
            # PyG's sparse product leaves each row's columns unsorted: compare in (row, col) order.
            order = torch.argsort(out[1][0] * (out[0].size(0) + 1) + out[1][1])
            out[1] = out[1][:, order]
            out[2] = out[2][order] if out[2] is not None else None
            outs[side] = tuple(out)
            return torch.cat([out[0].flatten()] + ([out[2]] if out[2] is not None else []))
        return call

    ours = ASAPooling(5, GNN=GraphConv if gnn else None, **kwargs)
    theirs = pyg.nn.ASAPooling(5, GNN=pyg.nn.GraphConv if gnn else None, **kwargs)
    if weighted:  # PyG's backward fails on a weighted adjacency (index_add_ on a sparse tensor): forward only
        ours.load_state_dict(theirs.state_dict())
        run("ours")(ours.to(dtype), {"x": b.x})
        run("pyg")(theirs.to(dtype), {"x": b.x})
    else:
        assert_matches_pyg(ours, theirs, b, call=run("ours"), pyg_call=run("pyg"), dtype=dtype)
    same_tuple(outs["ours"], outs["pyg"], dtype)


def test_graph_call_builds_the_coarse_batch(pool_batch) -> None:
    b = pool_batch(sizes=(6, 0, 9, 5))
    b.edge_weight = torch.rand(b.num_edges, dtype=torch.float64)
    out = ASAPooling(5).double()(b.x, b)
    g = out.graph
    assert g.num_graphs == b.num_graphs and "edge_attr" not in g.keys()
    torch.testing.assert_close(g.edge_weight, out.edge_weight)
    torch.testing.assert_close(g.label, b.label[out.perm])
    # Every coarse edge stays inside one member graph.
    assert bool((out.batch[out.edge_index[0]] == out.batch[out.edge_index[1]]).all())
    assert [p.num_nodes for p in g.to_graphs()] == [3, 0, 5, 3, 2]
