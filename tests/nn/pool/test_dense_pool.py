"""dense_diff_pool and dense_mincut_pool against PyG: outputs, both losses, gradients, masks."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn.pool import dense_diff_pool, dense_mincut_pool
from graphkit.testing import require_peer
from graphkit.testing.layers import tolerance
from graphkit.utils import to_dense_adj, to_dense_batch


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name,kwargs", [("dense_diff_pool", {}), ("dense_diff_pool", {"normalize": False}),
                                         ("dense_mincut_pool", {}), ("dense_mincut_pool", {"temp": 0.5})])
@pytest.mark.parametrize("masked", [True, False])
def test_dense_pool_matches_pyg(dtype, name, kwargs, masked, pool_batch) -> None:
    pyg = require_peer("torch_geometric")
    b = pool_batch(dtype)
    x, mask = to_dense_batch(b.x, b.batch)
    adj = to_dense_adj(b.edge_index, b.batch)
    s = torch.randn(*x.shape[:2], 3, dtype=dtype, generator=torch.Generator().manual_seed(2)).to(dtype)
    keep = [0, 2, 3]  # members with edges: an edgeless graph has a 0/0 cut (NaN in both libraries)
    x, mask, adj = x[keep], mask[keep], adj[keep]
    s = s[keep]
    if not masked:
        x, adj, s, mask = x[1], adj[1], s[1], None  # one unbatched graph
    ours_fn = {"dense_diff_pool": dense_diff_pool, "dense_mincut_pool": dense_mincut_pool}[name]
    leaves = [[t.clone().requires_grad_(True) for t in (x, adj.to(dtype), s)] for _ in range(2)]
    a = ours_fn(*leaves[0], mask, **kwargs)
    c = getattr(pyg.nn, name)(*leaves[1], mask, **kwargs)
    tol = tolerance(dtype)
    probe = torch.Generator().manual_seed(3)
    total_a, total_c = 0, 0
    for u, v in zip(a, c):
        torch.testing.assert_close(u, v, atol=tol, rtol=0)
        w = torch.randn(u.shape, generator=probe, dtype=torch.float64).to(dtype)
        total_a, total_c = total_a + (u * w).sum(), total_c + (v * w).sum()
    total_a.backward()
    total_c.backward()
    for u, v in zip(leaves[0], leaves[1]):
        torch.testing.assert_close(u.grad, v.grad, atol=tol, rtol=0)


def test_shape_errors_name_the_inputs() -> None:
    with pytest.raises(ValueError, match="adj must be"):
        dense_diff_pool(torch.randn(4, 3), torch.randn(5, 5), torch.randn(4, 2))
    with pytest.raises(ValueError, match="mask must be"):
        dense_mincut_pool(torch.randn(4, 3), torch.randn(4, 4), torch.randn(4, 2), mask=torch.ones(3, dtype=torch.bool))
