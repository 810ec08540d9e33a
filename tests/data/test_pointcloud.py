from __future__ import annotations

import numpy as np
import pytest
import torch

from graphkit.data.pointcloud import knn_graph, nearest_neighbors, radius_graph


def brute_neighbours(pos: np.ndarray, batch: np.ndarray, loop: bool, r: float = np.inf) -> list:
    """Per centre: sorted (distance, index) of every candidate neighbour in the same cloud."""
    out = []
    for i in range(len(pos)):
        cand = [
            (float(np.linalg.norm(pos[j] - pos[i])), j)
            for j in range(len(pos))
            if batch[j] == batch[i] and (loop or j != i)
        ]
        out.append(sorted(c for c in cand if c[0] <= r))
    return out


def edges_by_centre(ei: torch.Tensor, n: int) -> list:
    per = [[] for _ in range(n)]
    for s, t in zip(ei[0].tolist(), ei[1].tolist()):
        per[t].append(s)
    return per


def _cloud(seed: int, sizes: list, dim: int = 3) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    batch = torch.cat([torch.full((s,), b) for b, s in enumerate(sizes)])
    pos = torch.rand(len(batch), dim, generator=gen, dtype=torch.float64)
    return pos, batch


@pytest.mark.parametrize("method", ["brute", "kdtree"])
@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("sizes", [[40], [1, 7, 30, 3]])
def test_knn_matches_brute_force(method: str, loop: bool, sizes: list) -> None:
    k = 5
    pos, batch = _cloud(1, sizes)
    ei = knn_graph(pos, k, batch, loop=loop, method=method)
    ref = brute_neighbours(pos.numpy(), batch.numpy(), loop)
    got = edges_by_centre(ei, len(pos))
    assert torch.all(ei[1][1:] >= ei[1][:-1])
    for i, (mine, theirs) in enumerate(zip(got, ref)):
        assert mine == [j for _, j in theirs[:k]], f"centre {i}"
    assert torch.all(batch[ei[0]] == batch[ei[1]])


@pytest.mark.parametrize("method", ["brute", "kdtree"])
def test_knn_unsorted_batch_and_high_dim(method: str) -> None:
    pos, batch = _cloud(2, [12, 9, 15], dim=10)
    perm = torch.randperm(len(pos), generator=torch.Generator().manual_seed(0))
    pos, batch = pos[perm], batch[perm]
    ei = knn_graph(pos, 4, batch, method=method)
    ref = brute_neighbours(pos.numpy(), batch.numpy(), False)
    assert edges_by_centre(ei, len(pos)) == [[j for _, j in r[:4]] for r in ref]


@pytest.mark.parametrize("method", ["brute", "kdtree"])
def test_radius_matches_brute_force(method: str) -> None:
    pos, batch = _cloud(3, [50, 20])
    r, cap = 0.3, 6
    ei = radius_graph(pos, r, batch, max_num_neighbors=cap, method=method)
    ref = brute_neighbours(pos.numpy(), batch.numpy(), False, r)
    assert edges_by_centre(ei, len(pos)) == [[j for _, j in c[:cap]] for c in ref]


def test_radius_is_inclusive_and_loop() -> None:
    pos = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    for method in ("brute", "kdtree"):
        ei = radius_graph(pos, 1.0, method=method)
        assert ei.tolist() == [[1, 0], [0, 1]]
        ei = radius_graph(pos, 1.0, loop=True, method=method)
        assert sorted(zip(*ei.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)]


def test_duplicate_points_never_drop_a_real_neighbour() -> None:
    pos = torch.zeros(4, 3)
    for method in ("brute", "kdtree"):
        ei = knn_graph(pos, 3, method=method)
        assert ei.size(1) == 12 and not torch.any(ei[0] == ei[1])


def test_flow_and_methods_agree_on_large_cloud() -> None:
    pos = torch.rand(3000, 3, dtype=torch.float64)
    a = knn_graph(pos, 8, method="brute")
    b = knn_graph(pos, 8, method="kdtree")
    assert torch.equal(a, b)
    flipped = knn_graph(pos, 8, method="kdtree", flow="target_to_source")
    assert torch.equal(flipped, b.flip(0))


def test_nearest_neighbors_pads_small_clouds() -> None:
    dist, idx = nearest_neighbors(torch.tensor([[0.0], [2.0]]), 3)
    assert idx.tolist() == [[0, 1, -1], [1, 0, -1]]
    assert dist[0, 2].item() == float("inf")


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(pos=torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), k=1), ValueError, "non-finite"),
        (dict(pos=torch.zeros(3, 2, dtype=torch.long), k=1), TypeError, "floating"),
        (dict(pos=torch.zeros(3, 2), k=0), ValueError, "k must"),
        (dict(pos=torch.zeros(3, 2), k=1, batch=torch.zeros(2, dtype=torch.long)), ValueError, "batch"),
        (dict(pos=torch.zeros(3, 2), k=1, batch=torch.tensor([0, -1, 0])), ValueError, "negative"),
        (dict(pos=torch.zeros(3, 2), k=1, method="faiss"), ValueError, "method"),
    ],
)
def test_knn_bad_input(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        knn_graph(**kwargs)


def test_radius_bad_input() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        radius_graph(torch.tensor([[float("inf")]]), 1.0)
    with pytest.raises(ValueError, match="r must"):
        radius_graph(torch.zeros(2, 2), -1.0)
    with pytest.raises(ValueError, match="max_num_neighbors"):
        radius_graph(torch.zeros(2, 2), 1.0, max_num_neighbors=0)


def test_empty_cloud() -> None:
    assert knn_graph(torch.zeros(0, 3), 3).shape == (2, 0)
    assert radius_graph(torch.zeros(0, 3), 1.0).shape == (2, 0)
