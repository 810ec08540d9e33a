"""HeteroConv: PyG's state_dict names load strictly, outputs and gradients match PyG's HeteroConv for every
cross-relation aggregation (float64 1e-10), a HeteroData-like graph works as input, bad input is named."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import GraphConv, HeteroConv, SAGEConv
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg
from graphkit.testing.hetero import conv_pair, EDGES, dummy_graph, flat, typed_graph


def _convs(nn, cls):
    return {e: cls(5, 3) if e[0] == e[2] else cls((5, 5), 3) for e in EDGES}


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min", "cat"])
@pytest.mark.parametrize("layer", ["SAGEConv", "GraphConv"])
def test_matches_pyg(aggr: str, layer: str) -> None:
    pyg = require_peer("torch_geometric")
    ours_cls, theirs_cls = conv_pair(layer)
    x, ei = typed_graph()
    ours = HeteroConv(_convs(None, ours_cls), aggr=aggr)
    theirs = pyg.nn.HeteroConv(_convs(None, theirs_cls), aggr=aggr)
    assert_matches_pyg(ours, theirs, dummy_graph(), inputs={k: v for k, v in x.items()},
                       call=flat(lambda m, kw: m(kw, ei)), pyg_call=flat(lambda m, kw: m(kw, ei)))


def test_graph_object_input_and_edge_dict_kwargs() -> None:
    x, ei = typed_graph()

    class Typed:  # anything with PyG's access names (HeteroGraph, HeteroData) is accepted
        x_dict, edge_index_dict = x, ei

    conv = HeteroConv(_convs(None, GraphConv), aggr="sum").double()
    ref = conv(x, ei)
    for k, v in conv(Typed()).items():
        torch.testing.assert_close(v, ref[k], atol=0, rtol=0)
    w = {e: torch.rand(t.size(1), dtype=torch.float64) for e, t in ei.items()}
    with_w = conv(x, ei, edge_weight_dict=w)
    assert not torch.allclose(with_w["paper"], ref["paper"])
    only = HeteroConv({EDGES[0]: GraphConv((5, 5), 3)}).double()
    assert set(only(x, {EDGES[0]: ei[EDGES[0]]})) == {"paper"}
    assert only(x, {EDGES[2]: ei[EDGES[2]]}) == {}  # its edge type is absent: skipped, as PyG does


def test_bad_input_is_named() -> None:
    x, ei = typed_graph()
    conv = HeteroConv(_convs(None, GraphConv)).double()
    with pytest.raises(ValueError, match="x_dict has no features for node type 'field'"):
        conv({k: v for k, v in x.items() if k != "field"}, ei)
    with pytest.raises(ValueError, match="aggr must be one of"):
        HeteroConv({EDGES[0]: GraphConv(5, 3)}, aggr="median")
    with pytest.raises(ValueError, match=r"edge types \(src, relation, dst\)"):
        HeteroConv({"paper": GraphConv(5, 3)})
    with pytest.raises(ValueError, match="must end with '_dict'"):
        conv(x, ei, edge_weight={})
