from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphkit.data.recsys import (
    NegativeSampler,
    interactions_to_graph,
    ndcg_at_k,
    recall_at_k,
    sample_negatives,
    split_interactions,
    top_k_items,
)


def _random_interactions(seed: int = 0, u: int = 7, i: int = 9, m: int = 30) -> tuple:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(u, (m,), generator=g), torch.randint(i, (m,), generator=g), u, i


def test_graph_matches_dense_lightgcn_normalisation() -> None:
    users, items, nu, ni = _random_interactions()
    g = interactions_to_graph(users, items, nu, ni)
    g.validate()
    n = nu + ni
    a = torch.zeros(n, n, dtype=torch.float64)
    a[users, items + nu] = 1
    a[items + nu, users] = 1  # duplicates collapse, as dedupe=True promises
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    ref = dinv[:, None] * a * dinv[None, :]
    dense = torch.zeros(n, n, dtype=torch.float64)
    dense[g.edge_index[0], g.edge_index[1]] = g.edge_weight.double()
    torch.testing.assert_close(dense, ref, atol=1e-6, rtol=0)
    assert g.num_nodes == n and g.num_users == nu and g.num_items == ni
    raw = interactions_to_graph(users, items, nu, ni, normalize=False, dedupe=False)
    assert raw.num_edges == 2 * len(users) and raw.edge_weight is None


@pytest.mark.parametrize(
    "users,items,match",
    [
        ([0, 7], [0, 1], "users has id 7 but num_users is 7"),
        ([0, -1], [0, 1], "users has negative id -1"),
        ([0, 1], [0, 9], "items has id 9 but num_items is 9"),
        ([0, 1], [0], "users has 2 entries but items has 1"),
    ],
)
def test_out_of_range_ids(users: list, items: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        interactions_to_graph(torch.tensor(users), torch.tensor(items), 7, 9)


def test_float_ids_rejected() -> None:
    with pytest.raises(TypeError, match="integer"):
        interactions_to_graph(torch.tensor([0.0]), torch.tensor([0]), 2, 2)


def test_time_split_per_user_is_chronological() -> None:
    users = torch.tensor([0] * 10 + [1] * 5 + [2])
    ts = torch.randperm(16).double()
    s = split_interactions(users, ts, (0.6, 0.2, 0.2))
    assert torch.equal(torch.cat(list(s.values())).sort().values, torch.arange(16))
    for u in range(3):
        tr = ts[s["train"]][users[s["train"]] == u]
        te = ts[s["test"]][users[s["test"]] == u]
        if len(te):
            assert tr.max() < te.min()
    assert (users[s["test"]] == 0).sum() == 2 and (users[s["train"]] == 2).sum() == 1
    glob = split_interactions(users, ts, (0.5, 0.25, 0.25), per_user=False)
    assert ts[glob["train"]].max() < ts[glob["valid"]].min() < ts[glob["test"]].min()
    rnd = split_interactions(users, None, (0.5, 0.25, 0.25), seed=1)
    assert torch.equal(torch.cat(list(rnd.values())).sort().values, torch.arange(16))


def test_negatives_never_positive() -> None:
    users, items, nu, ni = _random_interactions(1, m=40)
    neg = sample_negatives(torch.arange(nu), ni, users, items, num_negatives=20,
                           generator=torch.Generator().manual_seed(0))
    pos = set(zip(users.tolist(), items.tolist()))
    assert neg.shape == (nu, 20)
    for u in range(nu):
        assert not any((u, int(i)) in pos for i in neg[u])
    with pytest.raises(ValueError, match="all 2 items"):
        sample_negatives(torch.tensor([0]), 2, torch.tensor([0, 0]), torch.tensor([0, 1]))



@pytest.mark.parametrize("seed", [0, 1])
def test_negatives_table_and_search_draw_the_same(seed: int) -> None:
    users, items, nu, ni = _random_interactions(seed, i=20, m=60)
    query = torch.cat([torch.arange(nu + 3), users])  # users past the last positive's id have no positives
    dense, search = NegativeSampler(ni, users, items), NegativeSampler(ni, users, items, dense_pairs=0)
    assert dense.table is not None and search.table is None
    a = dense(query, 7, generator=torch.Generator().manual_seed(seed))
    b = search(query, 7, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(a, b)
    pos = set(zip(users.tolist(), items.tolist()))
    assert not any((int(u), int(i)) in pos for u, row in zip(query, a) for i in row)

def _brute_metrics(topk: np.ndarray, truth: dict, k: int) -> tuple:
    recalls, ndcgs = [], []
    for u, rel in truth.items():
        hits = [1.0 if i in rel else 0.0 for i in topk[u][:k]]
        recalls.append(sum(hits) / len(rel))
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / math.log2(j + 2) for j in range(min(len(rel), k)))
        ndcgs.append(dcg / idcg)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def test_metrics_match_brute_force() -> None:
    gen = torch.Generator().manual_seed(5)
    scores = torch.rand(6, 15, generator=gen)
    train_u, train_i = torch.tensor([0, 0, 3]), torch.tensor([1, 2, 4])
    topk = top_k_items(scores, 5, train_u, train_i)
    assert 1 not in topk[0].tolist() and 4 not in topk[3].tolist()
    test_u = torch.tensor([0, 0, 1, 2, 2, 2, 2, 2, 2, 5])
    test_i = torch.tensor([3, 7, 0, 1, 2, 3, 4, 5, 6, 14])
    truth: dict = {}
    for u, i in zip(test_u.tolist(), test_i.tolist()):
        truth.setdefault(u, set()).add(i)
    for k in (1, 3, 5):
        r, n = _brute_metrics(topk.numpy(), truth, k)
        assert recall_at_k(topk, test_u, test_i, k) == pytest.approx(r, abs=1e-12)
        assert ndcg_at_k(topk, test_u, test_i, k) == pytest.approx(n, abs=1e-12)
    perfect = torch.tensor([[3, 7, 0], [0, 1, 2]])
    assert ndcg_at_k(perfect, torch.tensor([0, 0, 1]), torch.tensor([3, 7, 0]), 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="users has id 6"):
        recall_at_k(topk, torch.tensor([6]), torch.tensor([0]), 5)


@pytest.mark.parametrize("dense_pairs", [None, 0])
def test_negative_sampler_bad_input_names_the_argument(dense_pairs) -> None:
    users, items = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 2])
    kw = {} if dense_pairs is None else {"dense_pairs": dense_pairs}
    sampler = NegativeSampler(4, users, items, **kw)
    with pytest.raises(ValueError, match="users has negative id -1"):
        sampler(torch.tensor([0, -1]), 2)
    with pytest.raises(ValueError, match="num_negatives must be a positive int, got 0"):
        sampler(torch.tensor([0]), 0)
    with pytest.raises(ValueError, match="dense_pairs must be an int >= 0, got -1"):
        NegativeSampler(4, users, items, dense_pairs=-1)
