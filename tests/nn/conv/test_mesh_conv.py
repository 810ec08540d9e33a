"""MeshConv against PyG's MeshCNNConv, its symmetry and boundary padding, and mesh_edge_graph input."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch, Graph
from graphkit import nn as gnn
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


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
