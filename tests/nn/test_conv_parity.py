"""Every convolution that PyG also has: PyG's state_dict loads unchanged, and forward + gradients match PyG on
random, batched and bipartite graphs (float64 to 1e-10, float32 to 1e-5), on the fused path, the message path
(``fuse=False``) and the pure-torch kernel fallback alike."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Tuple

import pytest
import torch

from graphkit import Batch, Graph
from graphkit import nn as gnn
from graphkit.ops import use_backend
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


def _mlp(i: int, o: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, 16), torch.nn.ReLU(), torch.nn.Linear(16, o))


# name -> (graphkit factory, PyG factory name, extra per-edge input: None | "edge_weight" | "edge_attr")
def _cases(pnn: Any) -> Dict[str, Tuple[Callable[[], torch.nn.Module], Callable[[], torch.nn.Module], Any]]:
    mlp, mlp2 = _mlp(8, 4), _mlp(16, 4)
    return {
        "gcn": (lambda: gnn.GCNConv(8, 5), lambda: pnn.GCNConv(8, 5), "edge_weight"),
        "gcn_improved_nobias": (lambda: gnn.GCNConv(8, 5, improved=True, bias=False),
                                lambda: pnn.GCNConv(8, 5, improved=True, bias=False), "edge_weight"),
        "gcn_nonorm": (lambda: gnn.GCNConv(8, 5, normalize=False), lambda: pnn.GCNConv(8, 5, normalize=False),
                       "edge_weight"),
        "sage_mean": (lambda: gnn.SAGEConv(8, 5), lambda: pnn.SAGEConv(8, 5), None),
        "sage_max": (lambda: gnn.SAGEConv(8, 5, aggr="max"), lambda: pnn.SAGEConv(8, 5, aggr="max"), None),
        "sage_sum_norm_project": (
            lambda: gnn.SAGEConv(8, 5, aggr="sum", normalize=True, project=True),
            lambda: pnn.SAGEConv(8, 5, aggr="sum", normalize=True, project=True), None),
        "sage_noroot": (lambda: gnn.SAGEConv(8, 5, root_weight=False, bias=False),
                        lambda: pnn.SAGEConv(8, 5, root_weight=False, bias=False), None),
        "sage_multi": (lambda: gnn.SAGEConv(8, 5, aggr=["mean", "max", "std"]),
                       lambda: pnn.SAGEConv(8, 5, aggr=["mean", "max", "std"]), None),
        "gin": (lambda: gnn.GINConv(copy.deepcopy(mlp), eps=0.3, train_eps=True),
                lambda: pnn.GINConv(copy.deepcopy(mlp), eps=0.3, train_eps=True), None),
        "gine": (lambda: gnn.GINEConv(copy.deepcopy(mlp), edge_dim=3),
                 lambda: pnn.GINEConv(copy.deepcopy(mlp), edge_dim=3), "edge_attr"),
        "graph_conv": (lambda: gnn.GraphConv(8, 5), lambda: pnn.GraphConv(8, 5), "edge_weight"),
        "graph_conv_mean": (lambda: gnn.GraphConv(8, 5, aggr="mean"), lambda: pnn.GraphConv(8, 5, aggr="mean"),
                            "edge_weight"),
        "sg": (lambda: gnn.SGConv(8, 5, K=3), lambda: pnn.SGConv(8, 5, K=3), "edge_weight"),
        "appnp": (lambda: gnn.APPNP(K=4, alpha=0.2), lambda: pnn.APPNP(K=4, alpha=0.2), "edge_weight"),
        "lightgcn": (lambda: gnn.LightGCNConv(), lambda: pnn.LGConv(), "edge_weight"),
        "edge_conv_max": (lambda: gnn.EdgeConv(copy.deepcopy(mlp2)), lambda: pnn.EdgeConv(copy.deepcopy(mlp2)), None),
        "edge_conv_mean": (lambda: gnn.EdgeConv(copy.deepcopy(mlp2), aggr="mean"),
                           lambda: pnn.EdgeConv(copy.deepcopy(mlp2), aggr="mean"), None),
        "mf": (lambda: gnn.MFConv(8, 5, max_degree=4), lambda: pnn.MFConv(8, 5, max_degree=4), None),
    }


CASES = list(_cases(type("Stub", (), {"__getattr__": lambda s, n: None})()).keys())


def _graph(kind: str, dtype: torch.dtype) -> Graph:
    if kind == "random":
        return random_graph(30, 150, 8, seed=3, dtype=dtype, weighted=True, edge_dim=3)
    parts = [random_graph(n, 3 * n, 8, seed=10 + n, dtype=dtype, weighted=True, edge_dim=3) for n in (5, 1, 9, 7)]
    return Batch.from_graphs(parts)


def _run(name: str, g: Graph, dtype: torch.dtype, adj: Any = None, fuse: bool = True) -> None:
    pnn = require_peer("torch_geometric").nn
    ours_f, theirs_f, extra = _cases(pnn)[name]
    ours, theirs = ours_f(), theirs_f()
    if hasattr(ours, "fuse"):
        ours.fuse = fuse
    adj = g if adj is None else adj
    inputs: Dict[str, Any] = {"x": g.x}
    if extra is not None:
        inputs["e"] = getattr(g, extra)
        call = lambda m, kw: m(kw["x"], adj, kw["e"])  # noqa: E731
        pyg_call = lambda m, kw: m(kw["x"], g.edge_index, kw["e"])  # noqa: E731
    else:
        call = lambda m, kw: m(kw["x"], adj)  # noqa: E731
        pyg_call = lambda m, kw: m(kw["x"], g.edge_index)  # noqa: E731
    assert_matches_pyg(ours, theirs, g, inputs=inputs, call=call, pyg_call=pyg_call, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", ["random", "batched"])
@pytest.mark.parametrize("name", CASES)
def test_matches_pyg(name: str, kind: str, dtype: torch.dtype) -> None:
    _run(name, _graph(kind, dtype), dtype)


@pytest.mark.parametrize("name", CASES)
def test_matches_pyg_with_edge_index_message_path_and_torch_backend(name: str) -> None:
    g = _graph("random", torch.float64)
    _run(name, g, torch.float64, adj=g.edge_index, fuse=False)
    with use_backend("torch"):
        _run(name, g, torch.float64)


@pytest.mark.parametrize("name", ["gcn", "sage_mean", "sage_max", "gin", "graph_conv", "lightgcn"])
def test_matches_pyg_on_sparse_tensor(name: str) -> None:
    torch_sparse = require_peer("torch_sparse")
    pnn = require_peer("torch_geometric").nn
    g = _graph("random", torch.float64)
    n = g.num_nodes
    adj_t = torch_sparse.SparseTensor(row=g.edge_index[1], col=g.edge_index[0], sparse_sizes=(n, n))
    ours_f, theirs_f, _ = _cases(pnn)[name]
    assert_matches_pyg(ours_f(), theirs_f(), g, call=lambda m, kw: m(kw["x"], adj_t),
                       pyg_call=lambda m, kw: m(kw["x"], adj_t))


BIPARTITE = {
    "sage_mean": lambda p: (p.SAGEConv((8, 6), 5), "SAGEConv"),
    "sage_max": lambda p: (p.SAGEConv((8, 6), 5, aggr="max"), "SAGEConv"),
    "graph_conv": lambda p: (p.GraphConv((8, 6), 5), "GraphConv"),
    "mf": lambda p: (p.MFConv((8, 6), 5), "MFConv"),
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(BIPARTITE))
def test_bipartite_matches_pyg(name: str, dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    theirs, cls = BIPARTITE[name](pnn)
    ours = getattr(gnn, cls)(**{k: getattr(theirs, k) for k in ("in_channels", "out_channels")},
                             **({"aggr": theirs.aggr} if hasattr(theirs, "aggr") and cls != "MFConv" else {}),
                             **({"max_degree": theirs.max_degree} if cls == "MFConv" else {}))
    gen = torch.Generator().manual_seed(5)
    xs, xd = torch.randn(20, 8, generator=gen), torch.randn(7, 6, generator=gen)
    ei = torch.stack([torch.randint(0, 20, (60,), generator=gen), torch.randint(0, 6, (60,), generator=gen)])
    g = Graph(edge_index=ei, num_nodes=20)
    assert_matches_pyg(ours, theirs, g, inputs={"x": (xs, xd)}, dtype=dtype,
                       call=lambda m, kw: m(kw["x"], ei), pyg_call=lambda m, kw: m(kw["x"], ei))


@pytest.mark.parametrize("cls", ["GINConv", "EdgeConv", "GINEConv"])
def test_bipartite_nn_layers_match_pyg(cls: str) -> None:
    pnn = require_peer("torch_geometric").nn
    gen = torch.Generator().manual_seed(6)
    width = 16 if cls == "EdgeConv" else 8
    mlp = _mlp(width, 4)
    kw = {"edge_dim": 3} if cls == "GINEConv" else {}
    ours, theirs = getattr(gnn, cls)(copy.deepcopy(mlp), **kw), getattr(pnn, cls)(copy.deepcopy(mlp), **kw)
    xs, xd = torch.randn(20, 8, generator=gen), torch.randn(7, 8, generator=gen)
    ei = torch.stack([torch.randint(0, 20, (60,), generator=gen), torch.randint(0, 7, (60,), generator=gen)])
    ea = torch.randn(60, 3, generator=gen)
    inputs = {"x": (xs, xd), "e": ea} if cls == "GINEConv" else {"x": (xs, xd)}
    extra = (lambda k: (k["e"],)) if cls == "GINEConv" else (lambda k: ())
    assert_matches_pyg(ours, theirs, Graph(edge_index=ei, num_nodes=20), inputs=inputs,
                       call=lambda m, k: m(k["x"], ei, *extra(k)), pyg_call=lambda m, k: m(k["x"], ei, *extra(k)))


def test_gcn_cached_reuses_normalisation_and_matches_pyg() -> None:
    pnn = require_peer("torch_geometric").nn
    g = _graph("random", torch.float64)
    ours, theirs = gnn.GCNConv(8, 5, cached=True).double(), pnn.GCNConv(8, 5, cached=True).double()
    ours.load_state_dict(theirs.state_dict())
    for _ in range(2):
        torch.testing.assert_close(ours(g.x, g), theirs(g.x, g.edge_index), atol=1e-10, rtol=0)
    assert ours._cached_norm is not None


def test_gcn_keeps_existing_self_loop_weights_like_pyg() -> None:
    pnn = require_peer("torch_geometric").nn
    ei = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 1, 2, 0]])
    w = torch.tensor([1.0, 2.0, 3.0, 0.5, 1.5], dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)  # node 3 is isolated
    ours, theirs = gnn.GCNConv(3, 2).double(), pnn.GCNConv(3, 2).double()
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(x, ei, w), theirs(x, ei, w), atol=1e-12, rtol=0)


def test_gcn_normalisation_is_cached_per_graph_and_invalidated_on_change() -> None:
    from graphkit.nn.adjacency import Adjacency
    from graphkit.nn.conv.gcn import gcn_norm

    g = _graph("random", torch.float64)
    w1 = gcn_norm(Adjacency.from_adj(g), dtype=torch.float64)[1]
    w2 = gcn_norm(Adjacency.from_adj(g), dtype=torch.float64)[1]
    assert w1 is w2  # the second layer / epoch reuses it
    g.edge_index[0, 0] = (g.edge_index[0, 0] + 1) % g.num_nodes  # in place: the cache must notice
    w3 = gcn_norm(Adjacency.from_adj(g), dtype=torch.float64)[1]
    assert w3 is not w1
    torch.testing.assert_close(w3, gcn_norm(Adjacency.from_adj(g.edge_index, (30, 30)), dtype=torch.float64)[1])


def test_gine_reads_edge_features_from_a_sparse_tensor_like_pyg() -> None:
    pyg = require_peer("torch_geometric")
    torch_sparse = require_peer("torch_sparse")
    g = random_graph(15, 50, 4, seed=3, edge_dim=4)
    ei, ea = g.edge_index, g.edge_attr
    mlp = torch.nn.Linear(4, 3).double()
    ours, theirs = gnn.GINEConv(copy.deepcopy(mlp)).double(), pyg.nn.GINEConv(copy.deepcopy(mlp)).double()
    ours.load_state_dict(theirs.state_dict())
    adj_t = torch_sparse.SparseTensor(row=ei[1], col=ei[0], value=ea, sparse_sizes=(15, 15))
    torch.testing.assert_close(ours(g.x, adj_t), theirs(g.x, adj_t), atol=1e-10, rtol=0)
    torch.testing.assert_close(ours(g.x, adj_t), ours(g.x, ei, ea), atol=1e-10, rtol=0)
