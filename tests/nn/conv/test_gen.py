"""GENConv (DeeperGCN) and MessageNorm against PyG: state_dict, output and gradients on random, batched and
bipartite graphs."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import GENConv, MessageNorm
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer

CASES: Dict[str, Dict[str, Any]] = {
    "default": dict(),
    "learn_t_msgnorm": dict(learn_t=True, t=0.5, msg_norm=True, learn_msg_scale=True),
    "mean_edges": dict(aggr="mean", edge_dim=3, num_layers=3, bias=True),
    "max_same_width": dict(aggr="max", norm="layer"),
    "multi": dict(aggr=["mean", "max"], edge_dim=8),
}


def _graph(kind: str, dtype: torch.dtype, width: int) -> Graph:
    if kind == "random":
        return random_graph(20, 70, width, seed=6, dtype=dtype, edge_dim=3)
    return Batch.from_graphs([random_graph(n, 3 * n, width, seed=n, dtype=dtype, edge_dim=3) for n in (5, 7)])


def _check(case: str, kind: str, dtype: torch.dtype, edge_index: bool = False, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    kw = dict(CASES[case])
    fin = 8 if case.startswith("max") else 6
    g = _graph(kind, dtype, fin)
    if kw.get("edge_dim") == 8:
        g.set("edge_attr", torch.randn(g.num_edges, 8, dtype=dtype))
    ours, theirs = GENConv(fin, 8, **kw), pnn.GENConv(fin, 8, **kw)
    ours.fuse = fuse
    adj = g.edge_index if edge_index else g
    ours.train(False), theirs.train(False)  # BatchNorm in eval: deterministic running statistics
    if "edge_dim" in kw:
        inputs = {"x": g.x, "e": g.edge_attr}
        call = lambda m, k: m(k["x"], adj, k["e"])  # noqa: E731
        pyg_call = lambda m, k: m(k["x"], g.edge_index, k["e"])  # noqa: E731
    else:
        inputs = {"x": g.x}
        call = lambda m, k: m(k["x"], adj)  # noqa: E731
        pyg_call = lambda m, k: m(k["x"], g.edge_index)  # noqa: E731
    assert_matches_pyg(ours, theirs, g, inputs=inputs, call=call, pyg_call=pyg_call, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_gen_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(case, kind, dtype)


def test_gen_training_mode_message_path_and_torch_backend_match_pyg() -> None:
    _check("max_same_width", "random", torch.float64, edge_index=True, fuse=False)
    with use_backend("torch"):
        _check("default", "random", torch.float64)
    pnn = require_peer("torch_geometric").nn
    g = _graph("random", torch.float64, 6)
    ours, theirs = GENConv(6, 8).double(), pnn.GENConv(6, 8).double()
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(g.x, g), theirs(g.x, g.edge_index), atol=1e-10, rtol=0)  # batch statistics
    torch.testing.assert_close(ours.mlp[1].running_mean, theirs.mlp[1].running_mean)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_gen_bipartite_and_lazy_match_pyg(dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(7)
    xs, xd = torch.randn(12, 6, generator=gen), torch.randn(5, 4, generator=gen)
    ei = torch.stack([torch.randint(0, 12, (30,), generator=gen), torch.randint(0, 5, (30,), generator=gen)])
    for ours_in in ((6, 4), (-1, -1)):
        ours, theirs = GENConv(ours_in, 8, aggr="mean").eval(), pnn.GENConv((6, 4), 8, aggr="mean").eval()
        assert_matches_pyg(ours, theirs, Graph(edge_index=ei, num_nodes=12), inputs={"x": (xs, xd)}, dtype=dtype,
                           call=lambda m, k: m(k["x"], ei), pyg_call=lambda m, k: m(k["x"], ei))


def test_message_norm_matches_pyg() -> None:
    pnorm = require_peer("torch_geometric").nn.norm
    x, msg = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    for learn in (False, True):
        ours, theirs = MessageNorm(learn).double(), pnorm.MessageNorm(learn).double()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        torch.testing.assert_close(ours(x, msg), theirs(x, msg), atol=1e-12, rtol=0)


def test_gen_softmax_shortcut_falls_back_when_the_shift_would_underflow() -> None:
    from graphkit.nn.adjacency import Adjacency
    from graphkit.nn.conv.gen import softmax_aggregate_nodes

    conv = GENConv(4, 4).eval()
    ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    adj = Adjacency.from_adj(ei, (4, 4))
    wide = torch.tensor([[0.0], [100.0], [1.0], [2.0]]).expand(4, 4).contiguous()
    assert softmax_aggregate_nodes(adj, wide, conv.aggr_module) is None
    assert softmax_aggregate_nodes(adj, wide / 10, conv.aggr_module) is not None
    out = conv(wide, ei)  # takes the message path
    conv.fuse = False
    torch.testing.assert_close(out, conv(wide, ei))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fuse", [True, False])
def test_gen_powermean_and_power_mean_aggregation_match_pyg(fuse: bool, dtype: torch.dtype) -> None:
    pyg = require_peer("torch_geometric")
    g = _graph("random", dtype, 6)
    kw = dict(aggr="powermean", p=1.7, learn_p=True)
    ours, theirs = GENConv(6, 8, **kw).eval(), pyg.nn.GENConv(6, 8, **kw).eval()
    ours.fuse = fuse
    assert_matches_pyg(ours, theirs, g, dtype=dtype)
    from graphkit.nn import PowerMeanAggregation

    x, index = torch.rand(12, 3, dtype=torch.float64) * 5, torch.randint(0, 4, (12,))
    for args in ({"p": 2.5}, {"p": 0.7, "learn": True, "channels": 3}):
        a, b = PowerMeanAggregation(**args).double(), pyg.nn.aggr.PowerMeanAggregation(**args).double()
        a.load_state_dict(b.state_dict(), strict=True)
        torch.testing.assert_close(a(x, index, dim_size=5), b(x, index, dim_size=5), atol=1e-10, rtol=0)
