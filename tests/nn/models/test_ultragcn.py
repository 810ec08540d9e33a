"""UltraGCN: the beta weights, the item-item top-K graph and the loss against slow plain-python references."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphkit.nn import UltraGCN
from graphkit.nn.models.pair_scores import pair_scores
from graphkit.nn.models.ultragcn import item_item_constraints, ultragcn_betas


def interactions(seed: int, nu: int = 12, ni: int = 9, m: int = 40) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    u, i = torch.randint(nu, (m,), generator=gen), torch.randint(ni, (m,), generator=gen)
    return u, i, nu, ni


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_betas_match_the_definition(seed: int) -> None:
    u, i, nu, ni = interactions(seed)
    b, c = ultragcn_betas(u, i, nu, ni)
    for user in range(nu):
        d = sum(1 for x in u.tolist() if x == user)
        assert b[user].item() == pytest.approx(math.sqrt(d + 1) / d if d else 0.0)
    for item in range(ni):
        d = sum(1 for x in i.tolist() if x == item)
        assert c[item].item() == pytest.approx(1 / math.sqrt(d + 1))
    # beta_{u,i} = (1 / d_u) sqrt((d_u + 1) / (d_i + 1)), the paper's Eq. 7
    du, di = torch.bincount(u, minlength=nu).double(), torch.bincount(i, minlength=ni).double()
    k = 3
    assert (b[u[k]] * c[i[k]]).item() == pytest.approx(1 / du[u[k]].item() * math.sqrt((du[u[k]] + 1) / (di[i[k]] + 1)))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3])
def test_item_item_graph_matches_a_slow_construction(seed: int, k: int) -> None:
    u, i, nu, ni = interactions(seed)
    nbr, w = item_item_constraints(u, i, nu, ni, k)
    pairs = set(zip(u.tolist(), i.tolist()))
    by_user = {x: {it for (uu, it) in pairs if uu == x} for x in range(nu)}
    G = [[sum(1 for s in by_user.values() if a in s and b in s) for b in range(ni)] for a in range(ni)]
    g = [sum(row) for row in G]
    for a in range(ni):
        omega = []
        for b in range(ni):
            if b == a:
                continue
            off = g[a] - G[a][a]
            omega.append((G[a][b] / off * math.sqrt(g[a] / g[b]) if off > 0 and g[b] > 0 else 0.0, b))
        best = sorted(omega, key=lambda t: (-t[0], t[1]))[:k]
        assert w[a].tolist() == pytest.approx([x for x, _ in best])
        assert [b for x, b in best if x > 0] == [b for b, x in zip(nbr[a].tolist(), w[a].tolist()) if x > 0]


def test_loss_matches_a_plain_torch_reference() -> None:
    u, i, nu, ni = interactions(4)
    torch.manual_seed(0)
    m = UltraGCN(nu, ni, 5, u, i, num_neighbours=2, w1=0.1, w2=1.0, w3=0.2, w4=0.5, negative_weight=3.0,
                 gamma=0.01, lambda_=0.5, init_std=0.3).double()
    users, pos, neg = u[:6], i[:6], torch.randint(ni, (6, 4), generator=torch.Generator().manual_seed(1))
    du, di = torch.bincount(u, minlength=nu).double(), torch.bincount(i, minlength=ni).double()
    nbr, w = item_item_constraints(u, i, nu, ni, 2)
    E, I = m.user_emb.weight, m.item_emb.weight
    total = 0.0
    for r in range(6):
        x, p = int(users[r]), int(pos[r])
        beta = lambda item: 1 / du[x] * torch.sqrt((du[x] + 1) / (di[item] + 1))  # noqa: E731
        s = E[x] @ I[p]
        total = total - (0.1 + beta(p)) * F.logsigmoid(s)
        negs = [-(0.2 + 0.5 * beta(int(j))) * F.logsigmoid(-(E[x] @ I[int(j)])) for j in neg[r]]
        total = total + 3.0 * sum(negs) / 4
        total = total - 0.5 * sum(w[p, t] * F.logsigmoid(E[x] @ I[nbr[p, t]]) for t in range(2))
    total = total + 0.01 * (E.pow(2).sum() + I.pow(2).sum()) / 2
    got = m(users, pos, neg)
    assert torch.allclose(got, total, rtol=1e-6)  # the beta and omega buffers are float32, as the embeddings
    got.backward()
    assert m.user_emb.weight.grad is not None and m.scores().shape == (nu, ni)


def test_bad_inputs_name_the_field() -> None:
    u, i, nu, ni = interactions(0)
    with pytest.raises(ValueError, match="items ids must lie"):
        ultragcn_betas(u, i + 100, nu, ni)
    with pytest.raises(ValueError, match="k must be"):
        item_item_constraints(u, i, nu, ni, ni)
    with pytest.raises(TypeError, match="users must hold integer"):
        ultragcn_betas(u.double(), i, nu, ni)
    m = UltraGCN(nu, ni, 4, u, i, num_neighbours=2)
    with pytest.raises(ValueError, match="neg_items"):
        m(u[:3], i[:3], i[:3])


def plain_loss(m: UltraGCN, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """The loss written out with gathers, broadcast products and BCE: what the fused forward must equal."""
    eu = m.user_emb(users)
    s_pos = (eu * m.item_emb(pos)).sum(-1)
    s_neg = (eu.unsqueeze(1) * m.item_emb(neg)).sum(-1)
    bu = m.beta_user[users]
    w_pos = m.w1 + m.w2 * bu * m.beta_item[pos]
    w_neg = m.w3 + m.w4 * bu.unsqueeze(1) * m.beta_item[neg]
    loss_o = (F.binary_cross_entropy_with_logits(s_pos, torch.ones_like(s_pos), weight=w_pos, reduction="sum")
              + m.negative_weight * F.binary_cross_entropy_with_logits(
                  s_neg, torch.zeros_like(s_neg), weight=w_neg, reduction="none").mean(-1).sum())
    nbr = m.item_emb(m.ii_neighbours[pos])
    loss_i = -(m.ii_weights[pos] * F.logsigmoid((eu.unsqueeze(1) * nbr).sum(-1))).sum()
    norm = sum(p.pow(2).sum() for p in m.parameters()) / 2
    return loss_o + m.lambda_ * loss_i + m.gamma * norm


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fused_loss_and_gradients_equal_the_plain_construction(seed: int) -> None:
    u, i, nu, ni = interactions(seed, nu=15, ni=30, m=120)
    torch.manual_seed(seed)
    m = UltraGCN(nu, ni, 6, u, i, num_neighbours=3, w1=0.1, w2=1.0, w3=0.2, w4=0.5, negative_weight=3.0,
                 gamma=0.01, lambda_=0.5, init_std=2.0).double()  # large scores: saturated sigmoids too
    gen = torch.Generator().manual_seed(seed + 10)
    # repeated users, and repeated items within a row (a negative drawn twice, or equal to a neighbour)
    users = torch.randint(nu, (40,), generator=gen)
    pos, neg = torch.randint(ni, (40,), generator=gen), torch.randint(ni, (40, 8), generator=gen)
    got = m(users, pos, neg)
    g_user, g_item = torch.autograd.grad(got, [m.user_emb.weight, m.item_emb.weight])
    want = plain_loss(m, users, pos, neg)
    w_user, w_item = torch.autograd.grad(want, [m.user_emb.weight, m.item_emb.weight])
    assert torch.allclose(got, want, rtol=1e-12, atol=0)
    assert torch.allclose(g_user, w_user, rtol=1e-10, atol=1e-12)
    assert torch.allclose(g_item, w_item, rtol=1e-10, atol=1e-12)


def test_pair_scores_gradcheck_and_bad_ids() -> None:
    gen = torch.Generator().manual_seed(0)
    left = torch.randn(5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    right = torch.randn(7, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    rows, cols = torch.randint(5, (4, 6), generator=gen), torch.randint(7, (4, 6), generator=gen)
    assert torch.allclose(pair_scores(left, right, rows, cols), (left[rows] * right[cols]).sum(-1), rtol=1e-14)
    assert torch.autograd.gradcheck(lambda a, b: pair_scores(a, b, rows, cols), (left, right))
    with pytest.raises(ValueError, match=r"cols ids must lie in \[0, 7\), got \[0, 9\]"):
        pair_scores(left, right, rows, cols.clamp(max=6) + (cols == 6) * 3)
    with pytest.raises(ValueError, match="one shape"):
        pair_scores(left, right, rows, cols[:, :2])
