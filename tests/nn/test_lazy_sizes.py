"""Lazy input sizes (``in_channels=-1``) wherever PyG allows them: the layer infers its width from the first
input, and loads the state_dict of a PyG layer that was created lazily and then run, matching it exactly."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import pytest
import torch

from graphkit import nn as gnn
from graphkit.nn.linear import Linear
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph

G = random_graph(12, 40, 5, seed=3, edge_dim=2)
# A bipartite input: the targets have their own width, so (-1, -1) must size the two sides apart.
X_PAIR = (G.x, torch.randn(12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)))
EDGE_CALL = lambda m, kw: m(kw["x"], G.edge_index, G.edge_attr)  # noqa: E731
PLAIN = lambda m, kw: m(kw["x"], G.edge_index)  # noqa: E731

# case id -> (class name, constructor args with -1, keyword args, call, x)
Case = Tuple[str, Tuple[Any, ...], Dict[str, Any], Callable, Any]
LAYERS: Dict[str, Case] = {
    "GCNConv": ("GCNConv", (-1, 4), {}, PLAIN, G.x),
    "GraphConv": ("GraphConv", (-1, 4), {}, PLAIN, G.x),
    "MFConv": ("MFConv", (-1, 4), {}, PLAIN, G.x),
    "SGConv": ("SGConv", (-1, 4), {}, PLAIN, G.x),
    "ChebConv": ("ChebConv", (-1, 4, 2), {}, PLAIN, G.x),
    "ARMAConv": ("ARMAConv", (-1, 4), {}, PLAIN, G.x),
    "ResGatedGraphConv": ("ResGatedGraphConv", (-1, 4), {}, PLAIN, G.x),
    "LEConv": ("LEConv", (-1, 4), {}, PLAIN, G.x),
    "ClusterGCNConv": ("ClusterGCNConv", (-1, 4), {}, PLAIN, G.x),
    "FiLMConv": ("FiLMConv", (-1, 4), {}, PLAIN, G.x),
    "GENConv": ("GENConv", (-1, 4), {}, PLAIN, G.x),
    "GMMConv": ("GMMConv", (-1, 4, 2, 3), {}, EDGE_CALL, G.x),
    "GATConv": ("GATConv", (-1, 4), {"heads": 2, "edge_dim": 2, "residual": True}, EDGE_CALL, G.x),
    "GATConv-bipartite": ("GATConv", ((-1, -1), 4), {"heads": 2, "residual": True}, PLAIN, X_PAIR),
    "GATv2Conv": ("GATv2Conv", (-1, 4), {"heads": 2, "edge_dim": 2, "residual": True}, EDGE_CALL, G.x),
    "GATv2Conv-bipartite": ("GATv2Conv", ((-1, -1), 4), {"heads": 2}, PLAIN, X_PAIR),
    "GATv2Conv-shared": ("GATv2Conv", (-1, 4), {"share_weights": True}, PLAIN, G.x),
    "TransformerConv": ("TransformerConv", (-1, 4), {"heads": 2, "edge_dim": 2, "beta": True}, EDGE_CALL, G.x),
    "TransformerConv-bipartite": ("TransformerConv", ((-1, -1), 4), {"concat": False, "heads": 2}, PLAIN, X_PAIR),
    "SAGEConv": ("SAGEConv", (-1, 4), {}, PLAIN, G.x),
    "SAGEConv-bipartite": ("SAGEConv", ((-1, -1), 4), {"aggr": "max"}, PLAIN, X_PAIR),
    "SAGEConv-multi": ("SAGEConv", (-1, 4), {"aggr": ["mean", "max"]}, PLAIN, G.x),
    "GCN": ("GCN", (-1, 8, 2, 3), {}, PLAIN, G.x),
    "GIN": ("GIN", (-1, 8, 2, 3), {}, PLAIN, G.x),
    "GAT": ("GAT", (-1, 8, 2, 3), {"heads": 2}, PLAIN, G.x),
    "GATv2": ("GAT", (-1, 8, 2, 3), {"heads": 2, "v2": True}, PLAIN, G.x),
    "GraphSAGE": ("GraphSAGE", (-1, 8, 2, 3), {}, PLAIN, G.x),
}


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_lazy_layer_loads_a_lazy_pyg_state_dict(case: str) -> None:
    pyg = require_peer("torch_geometric")
    name, args, kwargs, call, x = LAYERS[case]
    torch.manual_seed(0)
    theirs = getattr(pyg.nn, name)(*args, **kwargs).double()
    call(theirs, {"x": x})  # PyG materialises its lazy weights on the first call
    ours = getattr(gnn, name)(*args, **kwargs)
    assert_matches_pyg(ours, theirs, G, inputs={"x": x}, call=call, pyg_call=call)


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_lazy_layer_infers_its_width(case: str) -> None:
    name, args, kwargs, call, x = LAYERS[case]
    layer = getattr(gnn, name)(*args, **kwargs).double()
    out = call(layer, {"x": x})
    assert out.shape[0] == G.num_nodes and torch.isfinite(out).all()
    assert not any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in layer.parameters())


def test_sage_projection_needs_a_known_width() -> None:
    with pytest.raises(ValueError, match=r"SAGEConv\(project=True\) needs a known source width"):
        gnn.SAGEConv(-1, 4, project=True)


def test_mlp_and_linear_lazy() -> None:
    pyg = require_peer("torch_geometric")
    theirs = pyg.nn.MLP([-1, 8, 3], norm=None).double()
    theirs(G.x)
    ours = gnn.MLP([-1, 8, 3])
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours.double()(G.x), theirs(G.x))
    lin = Linear(-1, 2, weight_initializer="glorot", bias_initializer="zeros")
    assert lin(torch.randn(4, 7)).shape == (4, 2) and lin.in_channels == 7 and bool((lin.bias == 0).all())
    with pytest.raises(ValueError, match="in_channels must be positive or -1"):
        Linear(-2, 3)
