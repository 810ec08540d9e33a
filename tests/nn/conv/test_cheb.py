"""ChebConv against PyG: state_dict, output and gradients on random and batched graphs, every normalisation."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn import ChebConv
from graphkit.ops import use_backend
from graphkit.testing import assert_matches_pyg, random_graph, require_peer

CASES = {"sym_K1": ("sym", 1), "sym_K3": ("sym", 3), "rw_K2": ("rw", 2), "none_K4": (None, 4)}


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(20, 80, 6, seed=1, dtype=dtype, weighted=True)
    return Batch.from_graphs([random_graph(n, 3 * n, 6, seed=n, dtype=dtype, weighted=True) for n in (5, 1, 8)])


def _check(case: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True, lazy: bool = False) -> None:
    pnn = require_peer("torch_geometric").nn
    norm, k = CASES[case]
    ours, theirs = ChebConv(-1 if lazy else 6, 4, K=k, normalization=norm), pnn.ChebConv(6, 4, K=k,
                                                                                          normalization=norm)
    ours.fuse = fuse
    adj = g if adj is None else adj
    batch = g.batch if isinstance(g, Batch) else None
    lam: Any = None if norm == "sym" else 1.7
    if batch is not None and norm is not None:
        lam = torch.linspace(1.5, 2.5, g.num_graphs, dtype=dtype)
    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "w": g.edge_weight}, dtype=dtype,
                       call=lambda m, kw: m(kw["x"], adj, kw["w"], batch=batch, lambda_max=lam),
                       pyg_call=lambda m, kw: m(kw["x"], g.edge_index, kw["w"], batch=batch, lambda_max=lam))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cheb_matches_pyg(case: str, kind: str, dtype: torch.dtype) -> None:
    _check(case, _graph(kind, dtype), dtype)


def test_cheb_message_path_torch_backend_and_lazy_size_match_pyg() -> None:
    g = _graph("random", torch.float64)
    _check("sym_K3", g, torch.float64, adj=g.edge_index, fuse=False)
    _check("rw_K2", g, torch.float64, lazy=True)
    with use_backend("torch"):
        _check("none_K4", g, torch.float64)
    lazy = ChebConv(-1, 3, K=2)
    assert lazy(torch.randn(4, 5), torch.tensor([[0, 1], [1, 2]])).shape == (4, 3)
    assert lazy.lins[1].weight.shape == (3, 5)


def test_cheb_refuses_missing_lambda_max() -> None:
    g = _graph("random", torch.float64)
    with pytest.raises(ValueError, match="lambda_max"):
        ChebConv(6, 4, K=2, normalization="rw").double()(g.x, g)
    with pytest.raises(ValueError, match="normalization must be one of"):
        ChebConv(6, 4, K=2, normalization="cols")
