"""PNAConv and DegreeScalerAggregation against PyG: state_dict, output and gradients on random and batched graphs,
with and without edge features, on the closed-form fused path and the message path."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import DegreeScalerAggregation, PNAConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer

AGGRS = ["sum", "mean", "min", "max", "var", "std"]
SCALERS = ["identity", "amplification", "attenuation", "linear", "inverse_linear"]
DEG = torch.tensor([2, 5, 6, 4, 2, 1])
CASES: Dict[str, Dict[str, Any]] = {
    "default": dict(aggregators=["mean", "min", "max", "std"], scalers=["identity", "amplification", "attenuation"]),
    "all_towers": dict(aggregators=AGGRS, scalers=SCALERS, towers=2, divide_input=True),
    "deep": dict(aggregators=["sum", "std"], scalers=["linear"], pre_layers=2, post_layers=2, towers=2),
    "edges": dict(aggregators=["mean", "max"], scalers=["identity", "inverse_linear"], edge_dim=3, towers=2),
    "train_norm": dict(aggregators=["mean", "var"], scalers=["amplification"], train_norm=True),
}


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 70, 8, seed=5, dtype=dtype, edge_dim=3)
    return Batch.from_graphs([random_graph(n, 3 * n, 8, seed=n, dtype=dtype, edge_dim=3) for n in (6, 1, 9)])


def _check(case: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    kw = CASES[case]
    ours, theirs = PNAConv(8, 6, deg=DEG, **kw), pnn.PNAConv(8, 6, deg=DEG, **kw)
    ours.fuse = fuse
    adj = g if adj is None else adj
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
def test_pna_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(case, _graph(kind, dtype), dtype)


@pytest.mark.parametrize("case", ["default", "all_towers"])
def test_pna_message_path_and_torch_backend_match_pyg(case: str) -> None:
    g = _graph("random", torch.float64)
    _check(case, g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _check(case, g, torch.float64)


def test_degree_scaler_aggregation_matches_pyg() -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    x = torch.randn(30, 4, dtype=torch.float64)
    index = torch.randint(0, 8, (30,)).sort().values
    ours = DegreeScalerAggregation(AGGRS, SCALERS, DEG)
    theirs = paggr.DegreeScalerAggregation(AGGRS, SCALERS, DEG)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    torch.testing.assert_close(ours(x, index, dim_size=10), theirs(x, index, dim_size=10), atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="unknown scaler"):
        DegreeScalerAggregation("mean", "cubic", DEG)
