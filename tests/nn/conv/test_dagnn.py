"""DAGNNConv against a dense reference (PyG and DGL have none)."""
from __future__ import annotations

import torch

from graphkit import nn as gnn
from graphkit.testing.layers import random_graph


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
