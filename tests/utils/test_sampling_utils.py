"""graphkit.utils: softmax and homophily against PyG; dropout and negative sampling by their statistical
properties (PyG's random stream is not ours)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import utils as U
from graphkit.testing import require_peer


def _pyg() -> Any:
    return require_peer("torch_geometric").utils


def test_softmax_matches_pyg_with_index_ptr_and_dim() -> None:
    pu = _pyg()
    src = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 0, 2, 2, 2, 3, 3, 3, 3, 0])
    ptr = torch.tensor([0, 3, 3, 7, 10])
    for kw in ({"index": index}, {"index": index, "num_nodes": 6}, {"ptr": ptr}):
        ours, theirs = U.softmax(src, **kw), pu.softmax(src, **kw)
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)
        g1, = torch.autograd.grad((ours * torch.arange(30.0, dtype=torch.float64).view(10, 3)).sum(), src)
        g2, = torch.autograd.grad((theirs * torch.arange(30.0, dtype=torch.float64).view(10, 3)).sum(), src)
        torch.testing.assert_close(g1, g2, atol=1e-12, rtol=0)
    other = torch.randn(2, 10, 4, dtype=torch.float64)
    torch.testing.assert_close(U.softmax(other, index, dim=1), pu.softmax(other, index, dim=1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("method", ["edge", "node", "edge_insensitive"])
def test_homophily_matches_pyg(method: str) -> None:
    pu = _pyg()
    gen = torch.Generator().manual_seed(7)
    ei = torch.randint(0, 12, (2, 40), generator=gen)
    y = torch.randint(0, 3, (12,), generator=gen)
    ours, theirs = U.homophily(ei, y, method=method), pu.homophily(ei, y, method=method)
    assert ours == pytest.approx(theirs, abs=1e-6)
    batch = torch.tensor([0] * 6 + [1] * 6)
    within = ei[:, (ei < 6).all(0) | (ei >= 6).all(0)]
    torch.testing.assert_close(U.homophily(within, y, batch, method).double(),
                               torch.as_tensor(pu.homophily(within, y, batch, method)).double(), atol=1e-6, rtol=0)


def test_dropout_edge_keeps_each_edge_with_probability_one_minus_p() -> None:
    ei = torch.randint(0, 100, (2, 20000))
    out, mask = U.dropout_edge(ei, p=0.3)
    assert mask.dtype == torch.bool and torch.equal(out, ei[:, mask])
    assert abs(mask.float().mean().item() - 0.7) < 0.015  # ~5 sigma
    same, all_kept = U.dropout_edge(ei, p=0.3, training=False)
    assert torch.equal(same, ei) and bool(all_kept.all())


def test_dropout_edge_force_undirected_keeps_pairs_together() -> None:
    und = U.to_undirected(torch.randint(0, 50, (2, 400)))
    out, ids = U.dropout_edge(und, p=0.5, force_undirected=True)
    assert U.is_undirected(out)
    half = ids.numel() // 2
    assert torch.equal(ids[:half], ids[half:]) and bool((und[0, ids] <= und[1, ids]).all())
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        U.dropout_edge(und, p=1.5)


def _keys(ei: torch.Tensor, n: int) -> torch.Tensor:
    return ei[0] * n + ei[1]


@pytest.mark.parametrize("method", ["sparse", "dense"])
def test_negative_sampling_is_exact(method: str) -> None:
    n = 30
    ei = torch.randint(0, n, (2, 200))
    neg = U.negative_sampling(ei, n, 150, method=method)
    assert neg.shape == (2, 150)
    assert not bool(torch.isin(_keys(neg, n), _keys(ei, n)).any())
    assert not bool((neg[0] == neg[1]).any())
    assert torch.unique(_keys(neg, n)).numel() == 150
    # asking for more than exist returns every non-edge exactly once
    allneg = U.negative_sampling(ei, n, 10 ** 6, method=method)
    expected = n * (n - 1) - torch.unique(_keys(ei[:, ei[0] != ei[1]], n)).numel()
    assert allneg.size(1) == expected


def test_negative_sampling_is_uniform_over_non_edges() -> None:
    n = 6
    ei = torch.tensor([[0, 1, 2], [1, 2, 3]])
    counts = torch.zeros(n * n)
    for _ in range(400):
        counts += torch.bincount(_keys(U.negative_sampling(ei, n, 3), n), minlength=n * n)
    allowed = torch.ones(n * n, dtype=torch.bool)
    allowed[_keys(ei, n)] = False
    allowed[torch.arange(n) * (n + 1)] = False
    assert bool((counts[~allowed] == 0).all())
    expected = 1200 / int(allowed.sum())  # 1200 draws over 27 pairs: ~44 each, sd ~6.5
    assert bool(((counts[allowed] - expected).abs() < 30).all())


def test_negative_sampling_bipartite_and_undirected() -> None:
    ei = torch.stack([torch.randint(0, 8, (20,)), torch.randint(0, 5, (20,))])
    neg = U.negative_sampling(ei, (8, 5), 10)
    assert bool((neg[0] < 8).all() and (neg[1] < 5).all())
    assert not bool(torch.isin(_keys(neg, 5), _keys(ei, 5)).any())
    und = U.to_undirected(torch.randint(0, 20, (2, 30)))
    neg = U.negative_sampling(und, 20, 40, force_undirected=True)
    assert neg.size(1) == 40 and U.is_undirected(neg)
    assert not bool(torch.isin(_keys(neg, 20), _keys(und, 20)).any())


@pytest.mark.parametrize("loops", [True, False])
def test_structured_negative_sampling(loops: bool) -> None:
    n = 10
    ei = torch.randint(0, n, (2, 60))
    i, j, k = U.structured_negative_sampling(ei, n, contains_neg_self_loops=loops)
    assert torch.equal(i, ei[0]) and torch.equal(j, ei[1])
    assert not bool(torch.isin(i * n + k, _keys(ei, n)).any())
    if not loops:
        assert not bool((i == k).any())
    full = torch.cartesian_prod(torch.arange(3), torch.arange(3)).t()
    assert not U.structured_negative_sampling_feasible(full, 3)
    with pytest.raises(ValueError, match="linked to every node"):
        U.structured_negative_sampling(full, 3)


def test_batched_negative_sampling_stays_inside_each_graph() -> None:
    batch = torch.tensor([0] * 5 + [1] * 7 + [2] * 4)
    ptr = torch.tensor([0, 5, 12, 16])
    parts = [torch.randint(int(ptr[g]), int(ptr[g + 1]), (2, 6)) for g in range(3)]
    ei = torch.cat(parts, dim=1)
    neg = U.batched_negative_sampling(ei, batch)
    assert torch.equal(batch[neg[0]], batch[neg[1]])
    assert torch.equal(torch.bincount(batch[neg[0]], minlength=3), torch.tensor([6, 6, 6]))
    assert not bool(torch.isin(_keys(neg, 16), _keys(ei, 16)).any())
    with pytest.raises(ValueError, match="between two different graphs"):
        U.batched_negative_sampling(torch.tensor([[0], [6]]), batch)
