"""Spectral descriptors (``graphkit.data.spectral``): eigenpairs, heat kernel signature, ShapeDNA."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphkit.data.spectral import _DENSE_LIMIT, heat_kernel_signature, laplacian_eigenpairs, shape_dna


def ring(n: int, offset: int = 0) -> torch.Tensor:
    i = torch.arange(n)
    return torch.stack([i, (i + 1) % n]) + offset


def grid(rows: int, cols: int) -> torch.Tensor:
    idx = torch.arange(rows * cols).view(rows, cols)
    right = torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)])
    down = torch.stack([idx[:-1].reshape(-1), idx[1:].reshape(-1)])
    return torch.cat([right, down], 1)


def test_ring_eigenvalues_are_the_analytic_ones() -> None:
    n = 12
    vals, vecs, comps = laplacian_eigenpairs(ring(n), n, 5)
    expected = np.sort(2 - 2 * np.cos(2 * np.pi * np.arange(n) / n))[:6]
    assert comps == 1
    np.testing.assert_allclose(vals, expected, atol=1e-10)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(6), atol=1e-10)


def test_sparse_path_matches_dense() -> None:
    rows, cols = 40, 30  # 1,200 nodes: above the dense limit
    assert rows * cols > _DENSE_LIMIT
    ei = grid(rows, cols)
    vals, _, _ = laplacian_eigenpairs(ei, rows * cols, 10)
    a = np.zeros((rows * cols, rows * cols))
    a[ei[0], ei[1]] = a[ei[1], ei[0]] = 1
    dense = np.linalg.eigvalsh(np.diag(a.sum(1)) - a)[:11]
    np.testing.assert_allclose(vals, dense, atol=1e-9)
    # the signature from eigsh matches the one from a dense decomposition of the same graph
    hks = heat_kernel_signature(ei, rows * cols, num_times=4, k=10)
    w, v = np.linalg.eigh(np.diag(a.sum(1)) - a)
    ref = heat_kernel_signature(ei, rows * cols, num_times=4, k=10, eigenpairs=(w[:11], v[:, :11], 1))
    torch.testing.assert_close(hks, ref, atol=1e-5, rtol=1e-5)


def test_hks_constant_on_a_ring_and_highest_at_path_ends() -> None:
    h = heat_kernel_signature(ring(9), 9, num_times=5, k=6)
    assert h.shape == (9, 5) and h.dtype == torch.float32
    assert float(h.abs().max()) < 1e-5  # normalised to mean 1, log -> 0 everywhere
    path = torch.stack([torch.arange(19), torch.arange(1, 20)])
    h = heat_kernel_signature(path, 20, num_times=3, k=8)
    # heat stays longest at the tips, least in the middle, at every time
    assert bool((h[0] > h[10]).all()) and bool((h[19] > h[10]).all())
    torch.testing.assert_close(h[0], h[19])


def test_hks_equivariant_under_relabelling() -> None:
    ei = grid(6, 5)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(30)
    h = heat_kernel_signature(ei, 30, num_times=4, k=8)
    hp = heat_kernel_signature(inv[ei], 30, num_times=4, k=8)  # node i is called inv[i] now
    # the 5x6 grid has no repeated eigenvalue among the first 9, so the truncation is basis-independent
    torch.testing.assert_close(hp[inv], h, atol=1e-5, rtol=1e-5)


def test_components_keep_every_zero_eigenvalue() -> None:
    ei = torch.cat([ring(10), ring(6, offset=10)], 1)
    vals, vecs, comps = laplacian_eigenpairs(ei, 16, 3)
    assert comps == 2 and vals.size == 5
    assert vals[0] == 0 and vals[1] == 0 and vals[2] > 0
    h = heat_kernel_signature(ei, 16, num_times=3, k=14)  # the whole spectrum: no eigenspace cut in two
    # every node of a ring is alike: constant on each ring, and the small ring keeps more heat per node
    assert float(h[:10].std(0).max()) < 1e-5 and float(h[10:].std(0).max()) < 1e-5
    assert bool((h[10] > h[0]).all())


def test_shape_dna_ring_pairs_and_scale() -> None:
    dna = shape_dna(ring(40), 40, k=5)
    assert dna.shape == (4,)
    # a ring's eigenvalues come in equal pairs, growing like j^2: 1, 1, ~4, ~4 times the first
    assert abs(float(dna[0])) < 1e-6 and abs(float(dna[1]) - float(dna[2])) < 1e-6
    assert abs(float(dna[1]) - np.log(4)) < 0.02
    # size-free: a ring twice as long gives nearly the same ratios
    assert float((shape_dna(ring(80), 80, k=5) - dna).abs().max()) < 0.02
    assert shape_dna(ring(3), 3, k=5).shape == (4,)  # padded with zeros when the graph has too few nodes


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: laplacian_eigenpairs(ring(4), 3, 2), "edge_index has index 3 but num_nodes is 3"),
        (lambda: laplacian_eigenpairs(torch.zeros(3, 2, dtype=torch.long), 4, 2), r"shape \[2, E\], got \[3, 2\]"),
        (lambda: laplacian_eigenpairs(ring(4), 1, 2), "num_nodes must be at least 2, got 1"),
        (lambda: laplacian_eigenpairs(ring(4), 4, 0), "k must be a positive int, got 0"),
        (lambda: heat_kernel_signature(ring(4), 4, num_times=0), "num_times must be a positive int, got 0"),
        (lambda: shape_dna(ring(4), 4, k=1), "k must be an int of at least 2, got 1"),
        (lambda: heat_kernel_signature(torch.zeros(2, 0, dtype=torch.long), 3, k=1),
         "needs a non-zero Laplacian eigenvalue; the graph has 3 components"),
    ],
)
def test_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
