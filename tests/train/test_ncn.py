"""The NCN predictor's common-neighbour sums against a brute-force count."""
from __future__ import annotations

import torch

from graphkit.train.ncn import NCNPredictor, _cn_sum, common_neighbours, sparse_adjacency


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
    adj = sparse_adjacency(torch.cat([ei, ei.flip(0)], 1), 6)
    pred = NCNPredictor(4)
    h = torch.randn(6, 4, requires_grad=True)
    pred(h, adj, torch.tensor([[0, 1], [0, 4]])).sum().backward()
    assert h.grad[2].abs().sum() > 0 and h.grad[3].abs().sum() > 0  # common neighbours feed the score
    assert h.grad[5].abs().sum() == 0  # a non-shared neighbour does not
