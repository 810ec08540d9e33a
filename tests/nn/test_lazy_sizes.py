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
EDGE_CALL = lambda m, kw: m(kw["x"], G.edge_index, G.edge_attr)  # noqa: E731
PLAIN = lambda m, kw: m(kw["x"], G.edge_index)  # noqa: E731

# name -> (constructor args with -1, call)
LAYERS: Dict[str, Tuple[Tuple[Any, ...], Callable]] = {
    "GCNConv": ((-1, 4), PLAIN),
    "GraphConv": ((-1, 4), PLAIN),
    "MFConv": ((-1, 4), PLAIN),
    "SGConv": ((-1, 4), PLAIN),
    "ChebConv": ((-1, 4, 2), PLAIN),
    "ARMAConv": ((-1, 4), PLAIN),
    "ResGatedGraphConv": ((-1, 4), PLAIN),
    "LEConv": ((-1, 4), PLAIN),
    "ClusterGCNConv": ((-1, 4), PLAIN),
    "FiLMConv": ((-1, 4), PLAIN),
    "GENConv": ((-1, 4), PLAIN),
    "GMMConv": ((-1, 4, 2, 3), EDGE_CALL),
    "GCN": ((-1, 8, 2, 3), PLAIN),
    "GIN": ((-1, 8, 2, 3), PLAIN),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_lazy_layer_loads_a_lazy_pyg_state_dict(name: str) -> None:
    pyg = require_peer("torch_geometric")
    args, call = LAYERS[name]
    torch.manual_seed(0)
    theirs = getattr(pyg.nn, name)(*args).double()
    call(theirs, {"x": G.x})  # PyG materialises its lazy weights on the first call
    ours = getattr(gnn, name)(*args)
    assert_matches_pyg(ours, theirs, G, call=call, pyg_call=call)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_lazy_layer_infers_its_width(name: str) -> None:
    args, call = LAYERS[name]
    layer = getattr(gnn, name)(*args).double()
    out = call(layer, {"x": G.x})
    assert out.shape[0] == G.num_nodes and torch.isfinite(out).all()
    assert not any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in layer.parameters())


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
