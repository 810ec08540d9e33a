"""RGCNConv: PyG's state_dict loads strictly and forward + gradients match PyG's RGCNConv (float64 to 1e-10,
float32 to 1e-5) for every aggregation and decomposition, on edge_index, Graph, Batch and bipartite inputs, on
the fused path, the message path and the pure-torch kernel fallback; plus its input checks."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import RGCNConv
from graphkit.ops import use_backend
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, assert_permutation_equivariant, random_graph

R = 4
CONFIGS: Dict[str, Dict[str, Any]] = {
    "mean": {},
    "sum": {"aggr": "add"},
    "max": {"aggr": "max"},
    "bases": {"num_bases": 2},
    "blocks": {"num_blocks": 2},
    "noroot_nobias": {"root_weight": False, "bias": False},
}


def _typed(g: Graph, seed: int) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    g.set("edge_type", torch.randint(0, R, (g.num_edges,), generator=gen), "edge")
    return g


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return _typed(random_graph(30, 150, 8, seed=3, dtype=dtype), 1)
    return Batch.from_graphs([_typed(random_graph(n, 3 * n, 8, seed=10 + n, dtype=dtype), n) for n in (5, 1, 9, 7)])


def _check(cfg: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours, theirs = RGCNConv(8, 6, R, **CONFIGS[cfg]), pnn.RGCNConv(8, 6, R, **CONFIGS[cfg])
    ours.fuse = fuse
    adj = g if adj is None else adj
    assert_matches_pyg(ours, theirs, g, dtype=dtype, inputs={"x": g.x},
                       call=lambda m, kw: m(kw["x"], adj, g.edge_type),
                       pyg_call=lambda m, kw: m(kw["x"], g.edge_index, g.edge_type))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_matches_pyg(cfg: str, kind: str, dtype: torch.dtype) -> None:
    _check(cfg, _graph(kind, dtype), dtype)


@pytest.mark.parametrize("cfg", ["mean", "max", "bases"])
def test_matches_pyg_on_edge_index_message_path_and_torch_backend(cfg: str) -> None:
    g = _graph("random", torch.float64)
    _check(cfg, g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check(cfg, g, torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_bipartite_matches_pyg(dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(5)
    xs, xd = torch.randn(20, 8, generator=gen), torch.randn(7, 5, generator=gen)
    ei = torch.stack([torch.randint(0, 20, (60,), generator=gen), torch.randint(0, 6, (60,), generator=gen)])
    et = torch.randint(0, R, (60,), generator=gen)
    assert_matches_pyg(RGCNConv((8, 5), 6, R), pnn.RGCNConv((8, 5), 6, R), Graph(edge_index=ei, num_nodes=20),
                       inputs={"x": (xs, xd)}, dtype=dtype,
                       call=lambda m, kw: m(kw["x"], ei, et), pyg_call=lambda m, kw: m(kw["x"], ei, et))


def test_edge_type_from_graph_field_and_permutation_equivariance() -> None:
    g = _graph("random", torch.float64)
    conv = RGCNConv(8, 6, R).double()
    torch.testing.assert_close(conv(g.x, g), conv(g.x, g.edge_index, g.edge_type), atol=1e-12, rtol=0)
    assert_permutation_equivariant(conv, g, call=lambda m, x, gg: m(x, gg, gg.edge_type))


def test_one_relation_sum_is_graph_conv() -> None:
    # With a single relation and sum aggregation, RGCN is GraphConv: a check independent of PyG.
    from graphkit.nn import GraphConv

    g = random_graph(12, 40, 3, seed=7)
    ours, ref = RGCNConv(3, 4, 1, aggr="sum").double(), GraphConv(3, 4).double()
    with torch.no_grad():
        ref.lin_rel.weight.copy_(ours.weight[0].t())
        ref.lin_rel.bias.copy_(ours.bias)
        ref.lin_root.weight.copy_(ours.root.t())
    torch.testing.assert_close(ours(g.x, g, torch.zeros(g.num_edges, dtype=torch.long)), ref(g.x, g),
                               atol=1e-12, rtol=0)


def test_bad_inputs_name_the_field_and_value() -> None:
    g = _graph("random", torch.float64)
    conv = RGCNConv(8, 6, R).double()
    bad = g.edge_type.clone()
    bad[3] = R
    with pytest.raises(ValueError, match=f"edge_type has value {R} but num_relations is {R}"):
        conv(g.x, g, bad)
    with pytest.raises(ValueError, match=r"edge_type has value -1"):
        conv(g.x, g, -torch.ones_like(bad))
    with pytest.raises(ValueError, match=r"edge_type must have shape \[150\]"):
        conv(g.x, g, bad[:-1])
    with pytest.raises(TypeError, match="edge_type must be an integer tensor"):
        conv(g.x, g, bad.double())
    with pytest.raises(ValueError, match="edge_type is required"):
        conv(g.x, g.edge_index)
    with pytest.raises(ValueError, match=r"x has index 29 but in_channels is 8"):  # int x: featureless ids
        conv(torch.arange(30), g)
    with pytest.raises(ValueError, match="num_blocks"):
        RGCNConv(8, 6, R, num_blocks=2)(None, g.edge_index[:, :0].clamp(max=7), g.edge_type[:0])
    with pytest.raises(ValueError, match="not both"):
        RGCNConv(8, 6, R, num_bases=2, num_blocks=2)
    with pytest.raises(ValueError, match=r"num_blocks must divide in_channels \(8\)"):
        RGCNConv(8, 6, R, num_blocks=3)
    with pytest.raises(ValueError, match="single aggregation"):
        RGCNConv(8, 6, R, aggr=["mean", "max"])


def test_compiles_with_aot_eager() -> None:
    # Dynamo + AOT autograd (no code generation, so it stays fast); graph breaks at host-side checks are allowed.
    torch._dynamo.reset()
    b = Batch.from_graphs([random_graph(n, 3 * n, 4, seed=n) for n in (7, 5)])
    et = torch.randint(0, 3, (b.num_edges,), generator=torch.Generator().manual_seed(0))
    layer = RGCNConv(4, 3, 3, num_bases=2).double()
    compiled = torch.compile(layer, backend="aot_eager")
    x1, x2 = b.x.clone().requires_grad_(True), b.x.clone().requires_grad_(True)
    ref, out = layer(x1, b, et), compiled(x2, b, et)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)
    ref.sum().backward()
    out.sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize("cfg", ["mean", "sum", "max", "bases", "noroot_nobias"])
@pytest.mark.parametrize("x_kind", ["none", "index"])
def test_featureless_matches_pyg(cfg: str, x_kind: str) -> None:
    """x=None (one-hot nodes) or an int index tensor: rows of Theta_r are learned node embeddings (PyG)."""
    pnn = require_peer("torch_geometric").nn
    n = 12
    gen = torch.Generator().manual_seed(7)
    ei = torch.randint(0, n, (2, 50), generator=gen)
    et = torch.randint(0, R, (50,), generator=gen)
    x = None if x_kind == "none" else torch.randperm(n, generator=gen)
    assert_matches_pyg(RGCNConv(n, 6, R, **CONFIGS[cfg]), pnn.RGCNConv(n, 6, R, **CONFIGS[cfg]),
                       Graph(edge_index=ei, num_nodes=n), inputs={},
                       call=lambda m, kw: m(x, ei, et), pyg_call=lambda m, kw: m(x, ei, et))
