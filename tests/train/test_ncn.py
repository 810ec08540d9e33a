"""The NCN predictor's common-neighbour sums against a brute-force count."""
from __future__ import annotations

import torch

from graphkit import Graph
from graphkit.train.ncn import NCNPredictor, _cn_sum, cn_structure, common_neighbours, sparse_adjacency


def test_common_neighbours_brute_force():
    torch.manual_seed(0)
    n = 30
    ei = torch.randint(0, n, (2, 150))
    ei = torch.cat([ei, ei.flip(0), ei[:, :10]], dim=1)  # symmetric, with duplicates
    adj = sparse_adjacency(ei, n)
    dense = torch.zeros(n, n)
    dense[ei[0], ei[1]] = 1
    pairs = torch.randint(0, n, (40, 2))
    cn = common_neighbours(adj, pairs).to_dense()
    assert torch.equal(cn, dense[pairs[:, 0]] * dense[pairs[:, 1]])
    h = torch.randn(n, 5, dtype=torch.float64)
    expect = (dense[pairs[:, 0]] * dense[pairs[:, 1]]).double() @ h
    adj64 = torch.sparse_coo_tensor(adj.indices(), adj.values().double(), adj.shape).coalesce()
    torch.testing.assert_close(_cn_sum(adj64, None, pairs, h), expect, rtol=0, atol=1e-10)
    torch.testing.assert_close(_cn_sum(adj64, dense.double(), pairs, h), expect, rtol=0, atol=1e-10)


def test_ncn_uses_common_neighbours_and_backpropagates():
    torch.manual_seed(0)
    # 0 and 1 share neighbours 2 and 3; 0 and 4 share none
    ei = torch.tensor([[0, 0, 1, 1, 4], [2, 3, 2, 3, 5]])
    g = Graph(edge_index=torch.cat([ei, ei.flip(0)], 1), num_nodes=6)
    pred = NCNPredictor(4)
    h = torch.randn(6, 4, requires_grad=True)
    pred(h, g, torch.tensor([[0, 1], [0, 4]])).sum().backward()
    assert h.grad[2].abs().sum() > 0 and h.grad[3].abs().sum() > 0  # common neighbours feed the score
    assert h.grad[5].abs().sum() == 0  # a non-shared neighbour does not


def test_ncn_structure_lives_in_the_graph_memo():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    g = Graph(edge_index=ei, num_nodes=3)
    sparse, dense = cn_structure(g, torch.device("cpu"))
    assert cn_structure(g, torch.device("cpu"))[0] is sparse  # built once per structure
    assert torch.equal(dense, sparse.to_dense()) and dense[0, 1] == 1 and dense[0, 2] == 0
    g.edge_index = torch.tensor([[0, 2], [2, 0]])  # a new structure: the memo is dropped, the copy rebuilt
    sparse2, dense2 = cn_structure(g, torch.device("cpu"))
    assert sparse2 is not sparse and dense2[0, 2] == 1 and dense2[0, 1] == 0
