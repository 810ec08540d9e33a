"""Laplacian-eigenvector PE and random-walk SE against torch_geometric's transforms."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.attention import laplacian_pe, random_sign_flip, random_walk_se
from graphkit.testing import require_peer


def _connected(n: int, extra: int, seed: int) -> Graph:
    """A ring plus random chords, both directions: connected, so eigenvalue 0 is simple."""
    g = torch.Generator().manual_seed(seed)
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    chords = torch.randint(0, n, (2, extra), generator=g)
    chords = chords[:, chords[0] != chords[1]]
    ei = torch.cat([ring, chords], 1)
    ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
    return Graph(edge_index=ei, num_nodes=n)


def test_random_walk_se_matches_pyg_per_graph_of_a_batch():
    pyg = require_peer("torch_geometric")
    graphs = [_connected(n, n, s) for s, n in enumerate([6, 11, 30])]
    batch = Batch.from_graphs(graphs)
    ours = random_walk_se(batch, 6)
    for i, g in enumerate(graphs):
        data = pyg.data.Data(edge_index=g.edge_index, num_nodes=g.num_nodes)
        ref = pyg.transforms.AddRandomWalkPE(6)(data).random_walk_pe
        torch.testing.assert_close(ours[batch.ptr[i] : batch.ptr[i + 1]], ref, atol=1e-6, rtol=1e-5)


def test_random_walk_se_sparse_path_matches_pyg():
    pyg = require_peer("torch_geometric")
    g = _connected(2100, 3000, 7)  # above the dense limit: both sides take their sparse paths
    ref = pyg.transforms.AddRandomWalkPE(4)(pyg.data.Data(edge_index=g.edge_index, num_nodes=2100)).random_walk_pe
    torch.testing.assert_close(random_walk_se(g, 4), ref, atol=1e-6, rtol=1e-5)


def test_laplacian_pe_matches_pyg_up_to_sign():
    pyg = require_peer("torch_geometric")
    graphs = [_connected(n, n // 2, 10 + s) for s, n in enumerate([7, 12, 20])]
    batch = Batch.from_graphs(graphs)
    ours = laplacian_pe(batch, 4, dtype=torch.float64)
    for i, g in enumerate(graphs):
        data = pyg.data.Data(edge_index=g.edge_index, num_nodes=g.num_nodes)
        ref = pyg.transforms.AddLaplacianEigenvectorPE(4, is_undirected=True)(data).laplacian_eigenvector_pe
        mine = ours[batch.ptr[i] : batch.ptr[i + 1]]
        sign = torch.sign((mine * ref).sum(0))
        assert bool((sign != 0).all())
        # PyG builds the Laplacian in float32, hence the 1e-6 tolerance.
        torch.testing.assert_close(mine * sign, ref.double(), atol=1e-6, rtol=1e-5)


def test_laplacian_pe_pads_small_graphs_and_sign_flip_is_per_graph():
    lonely = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=1)
    graphs = [_connected(3, 0, 0), _connected(8, 4, 1), lonely]
    batch = Batch.from_graphs(graphs)
    pe = laplacian_pe(batch, 4)
    assert pe.shape == (12, 4)
    assert bool((pe[:3, 2:] == 0).all()) and bool((pe[11] == 0).all())  # 3 nodes: only 2 non-trivial vectors
    flipped = random_sign_flip(pe, batch.batch, generator=torch.Generator().manual_seed(0))
    for lo, hi in ((0, 3), (3, 11)):
        for c in range(4):
            nz = pe[lo:hi, c].abs() > 1e-9
            if bool(nz.any()):
                r = flipped[lo:hi, c][nz] / pe[lo:hi, c][nz]
                assert bool((r.abs() == 1).all()) and bool((r == r[0]).all())  # one sign per graph and column
    torch.testing.assert_close(flipped.abs(), pe.abs())


def test_encodings_are_invariant_to_node_relabelling():
    g = _connected(10, 6, 3)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(10)
    relabelled = Graph(edge_index=inv[g.edge_index], num_nodes=10)
    torch.testing.assert_close(random_walk_se(relabelled, 5)[inv], random_walk_se(g, 5))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="walk_length"):
        random_walk_se(torch.tensor([[0], [1]]), 0)
    with pytest.raises(ValueError, match="k must be"):
        laplacian_pe(torch.tensor([[0], [1]]), -1)
    with pytest.raises(ValueError, match="leaves the graph"):
        laplacian_pe(torch.tensor([[0], [3]]), 2, ptr=torch.tensor([0, 2, 4]))
