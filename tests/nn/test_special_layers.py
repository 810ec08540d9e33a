"""Layers whose reference is not a plain edge_index call: MeshConv (PyG's MeshCNNConv), NeuralFingerprint and
LightGCN (PyG models), DynamicEdgeConv (PyG's EdgeConv on our kNN graph; our kNN against brute force),
DAGNNConv (a dense reference, PyG/DGL have none), and DGL's GraphConv / SAGEConv."""
from __future__ import annotations

import copy

import pytest
import torch

from graphkit import Batch, Graph
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph


def _mesh_nbrs(num_edges: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    nbr = torch.randint(0, num_edges, (num_edges, 4), generator=gen)
    return nbr


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_mesh_conv_matches_pyg_meshcnn(dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    e = 40
    nbr = _mesh_nbrs(e)
    # PyG gathers x_j = x[edge_index[0]] and sums into edge_index[1]: columns (neighbour -> edge), 4 per edge.
    ei = torch.stack([nbr.reshape(-1), torch.arange(e).repeat_interleave(4)])
    x = torch.randn(e, 6, dtype=dtype)
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # PyG's MeshCNNConv allocates its messages in the default dtype
    try:
        assert_matches_pyg(gnn.MeshConv(6, 5), pnn.MeshCNNConv(6, 5), Graph(num_nodes=e), inputs={"x": x},
                           dtype=dtype, call=lambda m, k: m(k["x"], nbr), pyg_call=lambda m, k: m(k["x"], ei))
    finally:
        torch.set_default_dtype(old)
    ours = gnn.MeshConv(6, 5).to(dtype)
    torch.testing.assert_close(ours(x, nbr), ours(x, ei))  # both forms of adj agree


def test_mesh_conv_is_symmetric_in_the_two_triangles_and_pads_boundaries() -> None:
    conv = gnn.MeshConv(3, 4).double()
    x = torch.randn(10, 3, dtype=torch.float64)
    nbr = _mesh_nbrs(10, seed=1)
    swapped = nbr[:, [2, 3, 0, 1]]  # the other triangle first
    torch.testing.assert_close(conv(x, nbr), conv(x, swapped))
    boundary = nbr.clone()
    boundary[0, 2:] = -1
    x_pad = torch.cat([x, torch.zeros(1, 3, dtype=torch.float64)])
    ref = conv(x_pad, torch.cat([torch.where(boundary < 0, 10, boundary), torch.zeros(1, 4, dtype=torch.long)]))
    torch.testing.assert_close(conv(x, boundary), ref[:10])
    with pytest.raises(ValueError, match="expected \\[10, 4\\]"):
        conv(x, torch.zeros(10, 3, dtype=torch.long))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_neural_fingerprint_matches_pyg(dtype: torch.dtype) -> None:
    pyg = require_peer("torch_geometric")
    b = Batch.from_graphs([random_graph(n, 2 * n, 5, seed=n, dtype=dtype) for n in (6, 3, 8)])
    assert_matches_pyg(gnn.NeuralFingerprint(5, 7, 4, num_layers=3), pyg.nn.models.NeuralFingerprint(5, 7, 4, 3), b,
                       dtype=dtype, call=lambda m, k: m(k["x"], b),
                       pyg_call=lambda m, k: m(k["x"], b.edge_index, b.batch))


def test_lightgcn_model_matches_pyg() -> None:
    pyg = require_peer("torch_geometric")
    g = random_graph(30, 120, 1, seed=4)
    label = torch.randint(0, 30, (2, 25))
    ours, theirs = gnn.LightGCN(30, 8, num_layers=3).double(), pyg.nn.models.LightGCN(30, 8, num_layers=3).double()
    assert_matches_pyg(ours, theirs, g, inputs={}, call=lambda m, k: m(g, label),
                       pyg_call=lambda m, k: m(g.edge_index, label))
    pos, neg = ours(g, label), ours(g, label.flip(0))
    torch.testing.assert_close(ours.recommendation_loss(pos, neg), theirs.recommendation_loss(pos, neg))
    assert torch.equal(ours.recommend(g, k=3), theirs.recommend(g.edge_index, k=3))


@pytest.mark.parametrize("aggr", ["max", "mean"])
def test_dynamic_edge_conv_matches_pyg_edge_conv_on_our_knn(aggr: str) -> None:
    pnn = require_peer("torch_geometric").nn
    b = Batch.from_graphs([random_graph(n, 0, 4, seed=n) for n in (12, 3, 20)])
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))
    ours = gnn.DynamicEdgeConv(copy.deepcopy(mlp), k=5, aggr=aggr)
    ei = ours.knn(b.x, b.batch)
    assert_matches_pyg(ours, pnn.EdgeConv(copy.deepcopy(mlp), aggr=aggr), b,
                       call=lambda m, k: m(k["x"], b), pyg_call=lambda m, k: m(k["x"], ei))


def test_knn_in_feature_space_matches_brute_force() -> None:
    conv = gnn.DynamicEdgeConv(torch.nn.Linear(6, 2), k=4)
    x = torch.randn(40, 3, dtype=torch.float64)
    batch = torch.tensor([0] * 15 + [1] * 25)
    ei = conv.knn(x, batch)
    d = torch.cdist(x, x)
    d[batch[:, None] != batch[None, :]] = float("inf")
    expected = d.topk(4, dim=1, largest=False).indices  # self included (distance 0)
    for i in range(40):
        got = sorted(ei[0][ei[1] == i].tolist())
        assert got == sorted(expected[i].tolist()), f"node {i}: {got} vs {expected[i].tolist()}"


def test_dagnn_matches_dense_reference() -> None:
    g = random_graph(15, 40, 4, seed=2, self_loops=False)
    conv = gnn.DAGNNConv(4, K=3).double()
    a = torch.zeros(15, 15, dtype=torch.float64)
    a.index_put_((g.edge_index[1], g.edge_index[0]), torch.ones(g.num_edges, dtype=torch.float64), accumulate=True)
    a = a + torch.eye(15, dtype=torch.float64)
    dis = a.sum(1).pow(-0.5)
    a_hat = dis[:, None] * a * dis[None, :]
    hs = [g.x]
    for _ in range(3):
        hs.append(a_hat @ hs[-1])
    h = torch.stack(hs, 1)
    s = torch.sigmoid(h @ conv.s)
    ref = (s.transpose(1, 2) @ h).squeeze(1)
    torch.testing.assert_close(conv(g.x, g), ref, atol=1e-12, rtol=0)


def _undirected(n: int, e: int, seed: int) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
    return Graph(x=torch.randn(n, 6, generator=gen, dtype=torch.float64), edge_index=ei)


def test_gcn_matches_dgl_graph_conv() -> None:
    dgl = require_peer("dgl")
    g = _undirected(20, 50, 1)
    dg = dgl.add_self_loop(dgl.graph((g.edge_index[0], g.edge_index[1]), num_nodes=20))
    theirs = dgl.nn.GraphConv(6, 3, norm="both").double()
    ours = gnn.GCNConv(6, 3).double()
    with torch.no_grad():
        ours.lin.weight.copy_(theirs.weight.t())
        ours.bias.copy_(torch.randn(3))
        theirs.bias.copy_(ours.bias)
    torch.testing.assert_close(ours(g.x, g), theirs(dg, g.x), atol=1e-10, rtol=0)


@pytest.mark.parametrize("dgl_aggr", ["mean", "pool"])
def test_sage_matches_dgl_sage_conv(dgl_aggr: str) -> None:
    dgl = require_peer("dgl")
    g = _undirected(20, 50, 2)
    dg = dgl.graph((g.edge_index[0], g.edge_index[1]), num_nodes=20)
    theirs = dgl.nn.SAGEConv(6, 3, dgl_aggr).double()
    ours = (gnn.SAGEConv(6, 3) if dgl_aggr == "mean" else gnn.SAGEConv(6, 3, aggr="max", project=True)).double()
    with torch.no_grad():
        ours.lin_l.weight.copy_(theirs.fc_neigh.weight)
        ours.lin_l.bias.copy_(theirs.fc_self.bias)
        ours.lin_r.weight.copy_(theirs.fc_self.weight)
        if dgl_aggr == "pool":
            ours.lin.weight.copy_(theirs.fc_pool.weight)
            ours.lin.bias.copy_(theirs.fc_pool.bias)
    torch.testing.assert_close(ours(g.x, g), theirs(dg, g.x), atol=1e-10, rtol=0)


def test_mesh_conv_reads_mesh_edge_graph() -> None:
    from graphkit.data.mesh import mesh_edge_graph

    # A square pyramid without its base: the base edges are boundary edges (two missing neighbours each).
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]])
    faces = torch.tensor([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    g = mesh_edge_graph(verts, faces)
    b = Batch.from_graphs([g, g])
    conv = gnn.MeshConv(5, 3).double()
    x = b.x.double()
    nbr = torch.where(b.gemm_mask, b.gemm.t(), torch.full_like(b.gemm.t(), -1))
    assert int((nbr < 0).sum()) == 2 * 2 * 4  # 4 boundary edges per mesh, 2 missing slots each
    torch.testing.assert_close(conv(x, b), conv(x, nbr))
    torch.testing.assert_close(conv(x, b)[: g.num_nodes], conv(g.x.double(), g))
