"""TopKPooling against PyG: values, kept structure and gradients; the graphkit-style call and its Batch."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn.pool import TopKPooling
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kwargs", [{"ratio": 0.5}, {"ratio": 2}, {"ratio": 0.3, "multiplier": 2.0},
                                    {"min_score": 0.2}, {"ratio": 0.7, "nonlinearity": torch.sigmoid}],
                         ids=["half", "int", "multiplier", "min_score", "sigmoid"])
def test_topk_pooling_matches_pyg(dtype, kwargs, pool_batch, same_tuple) -> None:
    pyg = require_peer("torch_geometric")
    b = pool_batch(dtype)
    theirs_out = []

    def pyg_call(m, kw):
        out = m(kw["x"], b.edge_index, kw["edge_attr"], b.batch)
        theirs_out.append(out)
        return torch.cat([out[0].flatten(), out[5], out[2].flatten()])

    ours_out = []

    def call(m, kw):
        out = m(kw["x"], b.edge_index, kw["edge_attr"], b.batch)
        ours_out.append(out)
        return torch.cat([out.x.flatten(), out.score, out.edge_attr.flatten()])

    assert_matches_pyg(TopKPooling(5, **kwargs), pyg.nn.TopKPooling(5, **kwargs), b, call=call, pyg_call=pyg_call,
                       inputs={"x": b.x, "edge_attr": b.edge_attr}, dtype=dtype)
    same_tuple(tuple(ours_out[0]), theirs_out[0], dtype)


def test_graph_call_gives_the_pooled_batch(pool_batch) -> None:
    b = pool_batch()
    pool = TopKPooling(5, ratio=0.5).double()
    plain = pool(b.x, b.edge_index, b.edge_attr, b.batch)
    out = pool(b.x, b)
    for a, c in zip(out, plain):
        torch.testing.assert_close(a, c)
    g = out.graph
    assert g.num_graphs == b.num_graphs and g.ptr.tolist() == [0, 3, 3, 8, 10, 12]
    torch.testing.assert_close(g.label, b.label[out.perm])
    torch.testing.assert_close(g.edge_attr, out.edge_attr)
    torch.testing.assert_close(g.x, out.x)
    assert g.batch.tolist() == out.batch.tolist()
    # Splitting the pooled batch gives each member's kept nodes and edges.
    parts = g.to_graphs()
    assert [p.num_nodes for p in parts] == [3, 0, 5, 2, 2]
    assert sum(p.num_edges for p in parts) == out.edge_index.size(1)


def test_attn_scores_a_different_input(pool_batch) -> None:
    pyg = require_peer("torch_geometric")
    b = pool_batch()
    ours, theirs = TopKPooling(3).double(), pyg.nn.TopKPooling(3).double()
    ours.load_state_dict(theirs.state_dict())
    attn = torch.randn(b.num_nodes, 3, dtype=torch.float64)
    a, c = ours(b.x, b, attn=attn), theirs(b.x, b.edge_index, b.edge_attr, b.batch, attn=attn)
    torch.testing.assert_close(a.perm, c[4])
    torch.testing.assert_close(a.x, c[0])


def test_bad_inputs_name_the_field(pool_batch) -> None:
    b = pool_batch()
    with pytest.raises(ValueError, match="ratio or min_score"):
        TopKPooling(5, ratio=None)
    with pytest.raises(ValueError, match="edge_index has entries outside"):
        TopKPooling(5)(b.x, b.edge_index + b.num_nodes)
    with pytest.raises(ValueError, match="batch must have shape"):
        TopKPooling(5)(b.x, b.edge_index, batch=b.batch[:3])
    with pytest.raises(ValueError, match="x has 5 channels but in_channels is 4"):
        TopKPooling(4)(b.x.float(), b.edge_index)
    with pytest.raises(ValueError, match="ratio must be"):
        TopKPooling(5, ratio=-1.0)(b.x.float(), b.edge_index)
