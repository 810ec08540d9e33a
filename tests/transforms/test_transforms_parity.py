"""graphkit.transforms against torch_geometric.transforms wherever the result is deterministic."""
from __future__ import annotations

import copy
from typing import Any, Dict, Iterable

import pytest
import torch

from graphkit import Batch, Graph
from graphkit import transforms as T
from graphkit.interop import to_pyg
from graphkit.testing import require_peer
from graphkit.utils import to_dense_adj


def _pt() -> Any:
    return require_peer("torch_geometric").transforms


def _graph(seed: int = 0, n: int = 10, e: int = 30, undirected: bool = False) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n - 2, (2, e), generator=gen)  # the last two nodes are isolated
    if undirected:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        ei = torch.unique(ei[:, ei[0] != ei[1]], dim=1)
    m = ei.size(1)
    return Graph(x=torch.rand(n, 4, generator=gen, dtype=torch.float64) * 3 - 1, edge_index=ei,
                 edge_weight=torch.rand(m, generator=gen, dtype=torch.float64),
                 edge_attr=torch.randn(m, 2, generator=gen, dtype=torch.float64), y=torch.tensor([1]),
                 kinds={"y": "graph"})


def _compare(ours: Graph, theirs: Any, names: Iterable[str], tol: float = 1e-12) -> None:
    assert ours.num_nodes == theirs.num_nodes
    for name in names:
        a, b = getattr(ours, name), getattr(theirs, name)
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        assert a.shape == b.shape, (name, a.shape, b.shape)
        if a.is_floating_point():
            torch.testing.assert_close(a, b.to(a.dtype), atol=tol, rtol=0, msg=name)
        else:
            assert torch.equal(a, b.to(a.dtype)), name


def _both(ours_t: Any, theirs_t: Any, g: Graph) -> tuple:
    src = g.clone()
    out = ours_t(g)
    for name in src.keys():  # the input is never modified
        assert torch.equal(getattr(src, name), getattr(g, name)) if torch.is_tensor(getattr(g, name)) else True
    return out, theirs_t(to_pyg(g))


def test_normalize_features_matches_pyg() -> None:
    ours, theirs = _both(T.NormalizeFeatures(), _pt().NormalizeFeatures(), _graph())
    _compare(ours, theirs, ["x", "edge_index"])


@pytest.mark.parametrize("reduce", ["add", "mean"])
def test_to_undirected_matches_pyg(reduce: str) -> None:
    ours, theirs = _both(T.ToUndirected(reduce=reduce), _pt().ToUndirected(reduce=reduce), _graph(1))
    _compare(ours, theirs, ["edge_index", "edge_weight", "edge_attr", "x"])


@pytest.mark.parametrize("fill", [None, 0.5, "mean"])
def test_self_loop_transforms_match_pyg(fill: Any) -> None:
    g = _graph(2)
    g.remove("edge_attr")
    ours, theirs = _both(T.AddSelfLoops(fill_value=fill), _pt().AddSelfLoops(fill_value=fill), g)
    _compare(ours, theirs, ["edge_index", "edge_weight"])
    ours, theirs = _both(T.RemoveSelfLoops(), _pt().RemoveSelfLoops(), ours)
    _compare(ours, theirs, ["edge_index", "edge_weight"])
    with pytest.raises(ValueError, match="edge_attr"):
        T.AddSelfLoops()(_graph(2))


def test_remove_isolated_nodes_matches_pyg() -> None:
    g = _graph(3)
    ours, theirs = _both(T.RemoveIsolatedNodes(), _pt().RemoveIsolatedNodes(), g)
    assert ours.num_nodes <= 8
    _compare(ours, theirs, ["x", "edge_index", "edge_weight", "edge_attr"])


@pytest.mark.parametrize("in_degree", [False, True])
@pytest.mark.parametrize("cat", [False, True])
def test_one_hot_degree_matches_pyg(in_degree: bool, cat: bool) -> None:
    g = _graph(4)
    ours, theirs = _both(T.OneHotDegree(20, in_degree, cat), _pt().OneHotDegree(20, in_degree, cat), g)
    _compare(ours, theirs, ["x"])
    with pytest.raises(ValueError, match="max_degree 1"):
        T.OneHotDegree(1)(g)


def test_virtual_node_matches_pyg() -> None:
    g = _graph(5)
    ours, theirs = _both(T.VirtualNode(), _pt().VirtualNode(), g)
    _compare(ours, theirs, ["x", "edge_index", "edge_type", "edge_weight", "edge_attr"])


def test_sign_matches_pyg() -> None:
    ours, theirs = _both(T.SIGN(3), _pt().SIGN(3), _graph(6))
    _compare(ours, theirs, ["x", "x1", "x2", "x3"], tol=1e-10)


@pytest.mark.parametrize("diffusion,sparsification", [
    ({"method": "ppr", "alpha": 0.15}, {"method": "threshold", "eps": 0.01}),
    ({"method": "ppr", "alpha": 0.1}, {"method": "threshold", "avg_degree": 3}),
    ({"method": "heat", "t": 3.0}, {"method": "topk", "k": 4, "dim": 0}),
    ({"method": "coeff", "coeffs": [0.5, 0.3, 0.2]}, {"method": "topk", "k": 3, "dim": 1}),
])
@pytest.mark.parametrize("undirected", [False, True])
def test_gdc_matches_pyg(diffusion: Dict[str, Any], sparsification: Dict[str, Any], undirected: bool) -> None:
    g = Graph(edge_index=_graph(7, undirected=undirected).edge_index, num_nodes=10)
    kw = dict(diffusion_kwargs=diffusion, sparsification_kwargs=sparsification)
    ours, theirs = _both(T.GDC(**copy.deepcopy(kw)), _pt().GDC(**copy.deepcopy(kw)), g)
    # Compared as dense matrices: top-k may break ties between (numerically) zero entries differently.
    dense = lambda d: to_dense_adj(d.edge_index, edge_attr=d.edge_attr.double(), max_num_nodes=10)  # noqa: E731
    torch.testing.assert_close(dense(ours), dense(theirs), atol=1e-5, rtol=0)
    assert abs(ours.num_edges - theirs.num_edges) <= (2 if sparsification["method"] == "topk" else 0)


def _align_signs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    signs = torch.sign((a * b).sum(0))
    return a * torch.where(signs == 0, torch.ones_like(signs), signs)


def test_laplacian_pe_matches_pyg_up_to_sign() -> None:
    g = _graph(8, n=12, e=30, undirected=True)
    g.remove("edge_weight")
    ours, theirs = _both(T.AddLaplacianEigenvectorPE(3), _pt().AddLaplacianEigenvectorPE(3, is_undirected=True), g)
    a, b = ours.laplacian_eigenvector_pe, theirs.laplacian_eigenvector_pe.to(torch.float64)
    assert a.shape == b.shape == (12, 3)
    torch.testing.assert_close(_align_signs(a, b), b, atol=1e-5, rtol=0)
    appended = T.AddLaplacianEigenvectorPE(3, attr_name=None)(g)
    assert appended.x.shape == (12, 7)


def test_random_walk_pe_matches_pyg() -> None:
    g = _graph(9)
    g.remove("edge_weight")
    ours, theirs = _both(T.AddRandomWalkPE(4), _pt().AddRandomWalkPE(4), g)
    _compare(ours, theirs, ["random_walk_pe"], tol=1e-6)


def test_face_to_edge_and_normalize_scale_match_pyg() -> None:
    pos = torch.randn(6, 3, dtype=torch.float64)
    face = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]])
    g = Graph(pos=pos, face=face, kinds={"face": "node_index"})
    ours, theirs = _both(T.FaceToEdge(), _pt().FaceToEdge(), g)
    _compare(ours, theirs, ["edge_index", "pos"])
    assert "face" not in ours
    assert "face" in T.FaceToEdge(remove_faces=False)(g)
    ours, theirs = _both(T.NormalizeScale(), _pt().NormalizeScale(), g)
    _compare(ours, theirs, ["pos"])


@pytest.mark.parametrize("dim,axis", [(2, 0), (3, 0), (3, 1), (3, 2)])
def test_fixed_rotation_and_flip_match_pyg(dim: int, axis: int) -> None:
    g = Graph(pos=torch.randn(5, dim, dtype=torch.float64))
    ours, theirs = _both(T.RandomRotate((30, 30), axis=axis), _pt().RandomRotate((30, 30), axis=axis), g)
    _compare(ours, theirs, ["pos"], tol=1e-6)  # PyG builds the rotation matrix in float32
    ours, theirs = _both(T.RandomFlip(axis % dim, p=1.0), _pt().RandomFlip(axis % dim, p=1.0), g)
    _compare(ours, theirs, ["pos"])
    assert torch.equal(T.RandomFlip(0, p=0.0)(g).pos, g.pos)


def test_link_split_sizes_match_pyg() -> None:
    g = _graph(10, n=30, e=120, undirected=True)
    for kw in ({}, {"is_undirected": True}, {"is_undirected": True, "num_val": 5, "num_test": 0.3},
               {"neg_sampling_ratio": 2.0, "add_negative_train_samples": False}):
        ours = T.RandomLinkSplit(**kw)(g)
        theirs = _pt().RandomLinkSplit(**kw)(to_pyg(g))
        for a, b in zip(ours, theirs):
            assert a.num_edges == b.num_edges
            assert a.edge_label.shape == b.edge_label.shape and a.edge_label.dtype == b.edge_label.dtype
            assert a.edge_label_index.shape == b.edge_label_index.shape
            assert a.edge_attr.shape == b.edge_attr.shape


def test_transforms_run_per_graph_on_a_batch() -> None:
    graphs = [_graph(s) for s in range(3)]
    batch = Batch.from_graphs(graphs)
    t = T.Compose([T.NormalizeFeatures(), T.ToUndirected(), T.VirtualNode()])
    out = t(batch)
    assert isinstance(out, Batch) and out.num_graphs == 3
    for got, g in zip(out.to_graphs(), graphs):
        want = t(g)
        for name in ("x", "edge_weight", "edge_type"):
            assert torch.equal(getattr(got, name), getattr(want, name))
        assert torch.equal(got.edge_index, want.edge_index)
