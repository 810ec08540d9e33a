"""Random transforms and splits: checked by their guarantees and statistics (PyG's random stream is not ours)."""
from __future__ import annotations

import math

import pytest
import torch

from graphkit import Graph
from graphkit import transforms as T
from graphkit.utils import is_undirected


def _keys(ei: torch.Tensor, n: int) -> set:
    return set((ei[0] * n + ei[1]).tolist())


@pytest.mark.parametrize("split", ["train_rest", "test_rest", "random"])
def test_random_node_split_is_a_partition_with_the_asked_sizes(split: str) -> None:
    y = torch.arange(60) % 3
    g = Graph(x=torch.zeros(60, 1), y=y, kinds={"y": "node"})
    out = T.RandomNodeSplit(split, num_train_per_class=5, num_val=0.2, num_test=10)(g)
    tr, va, te = out.train_mask, out.val_mask, out.test_mask
    assert not bool((tr & va).any() or (tr & te).any() or (va & te).any())
    assert int(va.sum()) == 12
    if split == "train_rest":
        assert int(te.sum()) == 10 and bool((tr | va | te).all())
    else:
        assert torch.equal(torch.bincount(y[tr], minlength=3), torch.tensor([5, 5, 5]))
        assert int(te.sum()) == (60 - 15 - 12 if split == "test_rest" else 10)
    multi = T.RandomNodeSplit(num_splits=4, num_val=5, num_test=5)(g)
    assert multi.train_mask.shape == (60, 4)
    assert len({tuple(c.tolist()) for c in multi.val_mask.t()}) > 1


def _ring(n: int) -> Graph:
    src = torch.arange(n)
    ei = torch.cat([torch.stack([src, (src + 1) % n]), torch.stack([src, (src + 5) % n])], dim=1)
    return Graph(x=torch.randn(n, 2), edge_index=torch.cat([ei, ei.flip(0)], dim=1))


@pytest.mark.parametrize("disjoint", [0.0, 0.3])
def test_random_link_split_has_no_leakage(disjoint: float) -> None:
    n = 40
    g = _ring(n)
    train, val, test = T.RandomLinkSplit(num_val=0.1, num_test=0.2, is_undirected=True,
                                         disjoint_train_ratio=disjoint)(g)
    all_edges = _keys(g.edge_index, n)
    for part in (train, val, test):
        assert is_undirected(part.edge_index)
        pos = part.edge_label_index[:, part.edge_label == 1]
        neg = part.edge_label_index[:, part.edge_label == 0]
        assert neg.size(1) == pos.size(1)
        assert _keys(pos, n) <= all_edges and not (_keys(neg, n) & all_edges)
    # supervision edges of val and test never appear (in either direction) among their message-passing edges
    for part in (val, test):
        pos = part.edge_label_index[:, part.edge_label == 1]
        seen = _keys(part.edge_index, n)
        assert not (_keys(pos, n) & seen) and not (_keys(pos.flip(0), n) & seen)
    assert _keys(train.edge_index, n) <= _keys(val.edge_index, n) <= _keys(test.edge_index, n)
    train_pos = train.edge_label_index[:, train.edge_label == 1]
    pairs = g.num_edges // 2
    num_train = pairs - int(0.1 * pairs) - int(0.2 * pairs)
    if disjoint:
        assert not (_keys(train_pos, n) & _keys(train.edge_index, n))
        assert train_pos.size(1) == int(0.3 * num_train)
        assert train.num_edges == 2 * (num_train - int(0.3 * num_train))
    else:
        assert train_pos.size(1) == num_train and train.num_edges == 2 * num_train
        assert _keys(train_pos, n) <= _keys(train.edge_index, n)


def test_random_link_split_labels_and_split_labels() -> None:
    g = _ring(30)
    g.set("edge_label", torch.randint(0, 3, (g.num_edges,)), "edge")
    train, _, _ = T.RandomLinkSplit(split_labels=True)(g)
    assert train.pos_edge_label.min() >= 1 and bool((train.neg_edge_label == 0).all())
    assert train.pos_edge_label_index.size(1) == train.pos_edge_label.numel()
    with pytest.raises(ValueError, match="none for training"):
        T.RandomLinkSplit(num_val=0.5, num_test=0.5)(g)


def test_knn_and_radius_graph_transforms() -> None:
    pos = torch.randn(25, 3)
    g = Graph(pos=pos, edge_index=torch.tensor([[0], [1]]), edge_attr=torch.ones(1, 2))
    out = T.KNNGraph(k=3)(g)
    assert out.edge_attr is None and out.num_edges == 75
    d = torch.cdist(pos, pos) + torch.eye(25) * 1e9
    nearest = d.topk(3, largest=False).indices  # [25, 3]
    got = {(int(s), int(t)) for s, t in out.edge_index.t()}
    assert got == {(int(j), i) for i in range(25) for j in nearest[i]}
    assert is_undirected(T.KNNGraph(k=3, force_undirected=True)(g).edge_index)
    cos = T.KNNGraph(k=2, cosine=True)(g)
    unit = pos / pos.norm(dim=1, keepdim=True)
    sim = unit @ unit.t() - torch.eye(25) * 1e9
    assert {(int(s), int(t)) for s, t in cos.edge_index.t()} == {
        (int(j), i) for i in range(25) for j in sim[i].topk(2).indices}
    rad = T.RadiusGraph(0.8)(g)
    want = {(j, i) for i in range(25) for j in range(25) if i != j and float(torch.dist(pos[i], pos[j])) <= 0.8}
    assert {(int(s), int(t)) for s, t in rad.edge_index.t()} == want


def test_sample_points_is_area_weighted_and_on_the_surface() -> None:
    # two triangles in the z=0 plane with areas 1 and 3
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [3, 0, 0], [5, 0, 0], [3, 3, 0]], dtype=torch.float64)
    face = torch.tensor([[0, 3], [1, 4], [2, 5]])
    g = Graph(pos=pos, face=face, kinds={"face": "node_index"})
    out = T.SamplePoints(4000, include_normals=True)(g)
    p = out.pos
    assert p.shape == (4000, 3) and bool((p[:, 2] == 0).all())
    first = (p[:, 0] + p[:, 1] / 2 <= 1 + 1e-9) & (p[:, 0] >= 0) & (p[:, 1] >= 0)
    second = (p[:, 0] >= 3 - 1e-9) & (p[:, 1] >= 0) & (p[:, 1] <= 1.5 * (5 - p[:, 0]) + 1e-9)
    assert bool((first | second).all())
    share = float(first.double().mean())
    assert abs(share - 0.25) < 0.035  # ~5 sigma for 4000 draws
    torch.testing.assert_close(out.normal.abs(), torch.tensor([[0.0, 0, 1]]).double().expand(4000, 3))
    # inside the first triangle the points are uniform: the mean is the centroid
    torch.testing.assert_close(p[first, :2].mean(0), torch.tensor([1 / 3, 2 / 3], dtype=torch.float64),
                               atol=0.05, rtol=0)


def test_random_jitter_rotate_and_flip_statistics() -> None:
    g = Graph(pos=torch.zeros(20000, 3, dtype=torch.float64))
    out = T.RandomJitter((0.1, 0.2, 0.0))(g).pos
    assert bool((out[:, 0].abs() <= 0.1).all() and (out[:, 1].abs() <= 0.2).all() and (out[:, 2] == 0).all())
    assert abs(float(out[:, 1].var()) - 0.2 ** 2 / 3) < 1e-3
    one = Graph(pos=torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    angles = []
    for _ in range(300):
        p = T.RandomRotate(40, axis=2)(one).pos[0]
        assert abs(float(p.norm()) - 1) < 1e-12 and p[2] == 0
        angles.append(math.degrees(math.atan2(-float(p[1]), float(p[0]))))
    assert min(angles) >= -40 - 1e-9 and max(angles) <= 40 + 1e-9 and min(angles) < -30 and max(angles) > 30
    flips = sum(bool(T.RandomFlip(0, p=0.3)(one).pos[0, 0] < 0) for _ in range(1000))
    assert 230 < flips < 370


def test_transforms_refuse_bad_input() -> None:
    with pytest.raises(TypeError, match="graphkit.Graph"):
        T.NormalizeFeatures()(torch.zeros(3))
    with pytest.raises(ValueError, match="needs node positions pos"):
        T.KNNGraph()(Graph(x=torch.zeros(3, 1)))
    with pytest.raises(ValueError, match="split must be one of"):
        T.RandomNodeSplit("everything")
    with pytest.raises(ValueError, match="exact=False"):
        T.GDC(exact=False)
