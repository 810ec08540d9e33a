"""LargeGT: its tokens, propagated features, codebook and global attention against plain reference constructions."""
from __future__ import annotations

from typing import List

import pytest
import torch
import torch.nn.functional as F

from graphkit import Graph
from graphkit.loader import FeatureStore, NeighborLoader
from graphkit.nn import CodebookAttention, KMeansCodebook, LargeGT
from graphkit.nn.models.large_gt import hop_features, hop_tokens


def random_graph(seed: int, n: int = 30, e: int = 90) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(n, (2, e), generator=gen)
    return torch.cat([ei, ei.flip(0)], 1)  # undirected, with repeats and loops: the awkward cases too


def in_neighbours(ei: torch.Tensor, v: int) -> List[int]:
    """Sources of the edges into ``v``, in edge order (a stable grouping by target keeps it)."""
    return [s for s, d in ei.t().tolist() if d == v]


def tokens_by_hand(ei: torch.Tensor, num_seeds: int, fanouts: List[int]) -> List[List[int]]:
    rows = []
    for s in range(num_seeds):
        row, frontier = [s], [s]
        for k in fanouts:
            nxt = []
            for u in frontier:
                nb = in_neighbours(ei, u)[:k] if u >= 0 else []
                nxt += nb + [-1] * (k - len(nb))
            row += nxt
            frontier = nxt
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fanouts", [[3, 2], [2, 4], [1]])
def test_tokens_match_a_plain_python_construction(seed: int, fanouts: List[int]) -> None:
    ei = random_graph(seed)
    assert hop_tokens(ei, 7, fanouts, num_nodes=30).tolist() == tokens_by_hand(ei, 7, fanouts)


@pytest.mark.parametrize("seed", [0, 1])
def test_tokens_of_a_sampled_batch_are_its_2_hop_sample(seed: int) -> None:
    """On a NeighborLoader batch the tokens are the seed, its sampled 1-hop and 2-hop neighbours (by hand from
    the batch's edges), and every token lies within 2 hops of its seed in the full graph."""
    ei = random_graph(seed, n=60, e=150)
    g = Graph(x=torch.randn(60, 4), edge_index=ei)
    batch = next(iter(NeighborLoader(g, [3, 2], batch_size=8, shuffle=True, seed=seed, prefetch=0)))
    tok = hop_tokens(batch, batch.batch_size, (3, 2))
    assert tok.tolist() == tokens_by_hand(batch.edge_index, batch.batch_size, [3, 2])
    full = {(s, d) for s, d in ei.t().tolist()}
    for s, row in enumerate(tok.tolist()):
        seed_id = int(batch.n_id[s])
        one = {u for u, v in full if v == seed_id} | {seed_id}
        two = one | {u for u, v in full if v in one}
        assert {int(batch.n_id[u]) for u in row if u >= 0} <= two


def test_hop_features_match_dense_powers() -> None:
    ei = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 0, 3]])
    x = torch.randn(5, 3, dtype=torch.float64)  # node 4 isolated: only its self-loop
    a = torch.zeros(5, 5, dtype=torch.float64)
    a[ei[1], ei[0]] = 1.0
    a += torch.eye(5, dtype=torch.float64)
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    want = torch.cat([x, a_hat @ x, a_hat @ a_hat @ x], 1)
    torch.testing.assert_close(hop_features(ei, x, 2), want, rtol=0, atol=1e-10)


def test_receptive_field_is_four_hops() -> None:
    """Path 0 - 1 - ... - 7: seed 0's tokens reach node 2, whose A^2 x reaches node 4; node 5 is out of reach."""
    n = 8
    path = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    ei = torch.cat([path, path.flip(0)], 1)
    torch.manual_seed(0)
    model = LargeGT(2, 8, 3, fanouts=(2, 2), mode="local", dropout=0.0).eval()
    x = torch.randn(n, 2)

    def out(x: torch.Tensor) -> torch.Tensor:
        return model(hop_features(ei, x), ei, batch_size=1)

    base = out(x)
    for node, reached in ((4, True), (5, False)):
        moved = x.clone()
        moved[node] += 1.0
        assert (not torch.allclose(out(moved), base, atol=1e-6)) == reached, node


def codebook_step_by_hand(c: List[List[float]], n: List[float], m: List[List[float]], z: List[List[float]],
                          g: float):
    assign = [min(range(len(c)), key=lambda j: sum((a - b) ** 2 for a, b in zip(row, c[j]))) for row in z]
    n = [g * n[j] + (1 - g) * assign.count(j) for j in range(len(c))]
    m = [[g * m[j][d] + (1 - g) * sum(z[i][d] for i in range(len(z)) if assign[i] == j) for d in range(len(z[0]))]
         for j in range(len(c))]
    c = [[m[j][d] / n[j] for d in range(len(z[0]))] if n[j] > 0 else c[j] for j in range(len(c))]
    return assign, c, n, m


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9])
def test_codebook_update_is_an_ema_kmeans_step(decay: float) -> None:
    gen = torch.Generator().manual_seed(3)
    cb = KMeansCodebook(5, 3, decay).double()
    c0 = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    cb.centroids.copy_(c0)
    cb.initialised.fill_(True)
    c, n, m = c0.tolist(), [0.0] * 5, [[0.0] * 3 for _ in range(5)]
    for _ in range(4):
        z = torch.randn(12, 3, generator=gen, dtype=torch.float64) + 0.5
        assign, c, n, m = codebook_step_by_hand(c, n, m, z.tolist(), decay)
        assert cb.update(z).tolist() == assign
        torch.testing.assert_close(cb.centroids, torch.tensor(c, dtype=torch.float64), rtol=0, atol=1e-12)
        torch.testing.assert_close(cb.sizes, torch.tensor(n, dtype=torch.float64), rtol=0, atol=1e-12)


def test_codebook_starts_from_rows_of_its_first_batch() -> None:
    torch.manual_seed(0)
    cb = KMeansCodebook(4, 2, decay=0.0)
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.2], [-3.0, 1.0]])
    a = cb.update(z)
    for j in range(4):  # one Lloyd step from rows of z: a chosen centroid is its members' mean
        if (a == j).any():
            torch.testing.assert_close(cb.centroids[j], z[a == j].mean(0))
    assert int(cb.sizes.sum()) == 5


def test_reset_parameters_forgets_the_clusters_and_redraws_the_weights() -> None:
    torch.manual_seed(0)
    model = LargeGT(5, 8, 3, fanouts=(2, 2), num_centroids=4, global_channels=4, heads=2)
    cb = model.global_attn.codebook
    cb.update(torch.randn(6, 4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_parameters()
    assert not bool(cb.initialised) and float(cb.sizes.abs().sum() + cb.centroids.abs().sum()) == 0.0
    redrawn = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert "attn.in_proj_weight" in redrawn and "global_attn.lin_query.weight" in redrawn and "lin_out.weight" in redrawn


def test_codebook_attention_is_attention_over_all_nodes_by_centroid() -> None:
    """Weighting centroid j by log N_j equals plain attention over N_j copies of each centroid."""
    torch.manual_seed(0)
    attn = CodebookAttention(3, 4, num_centroids=4, heads=2).double().eval()
    attn.codebook.centroids.copy_(torch.randn(4, 3, dtype=torch.float64))
    sizes = torch.tensor([3.0, 1.0, 0.0, 5.0], dtype=torch.float64)
    attn.codebook.sizes.copy_(sizes)
    z = torch.randn(6, 3, dtype=torch.float64)
    nodes = attn.codebook.centroids.repeat_interleave(sizes.long(), 0)  # [9, 3]: every node as its centroid
    q, k, v = (lin(t).view(t.size(0), 2, 4).transpose(0, 1)
               for lin, t in ((attn.lin_query, z), (attn.lin_key, nodes), (attn.lin_value, nodes)))
    want = ((q @ k.transpose(1, 2) / 2.0).softmax(-1) @ v).transpose(0, 1).reshape(6, 8)
    torch.testing.assert_close(attn(z), want, rtol=0, atol=1e-10)


def test_codebook_attention_trains_the_codebook_only_in_training_mode() -> None:
    torch.manual_seed(0)
    attn = CodebookAttention(3, 4, num_centroids=8)
    z = torch.randn(10, 3)
    attn.eval()(z)
    assert not bool(attn.codebook.initialised) and float(attn.codebook.sizes.sum()) == 0.0
    out = attn.train()(z)
    assert bool(attn.codebook.initialised) and float(attn.codebook.sizes.sum()) == pytest.approx(10 * 0.01)
    out.sum().backward()  # gradients reach the projections, never the codebook
    assert attn.lin_key.weight.grad is not None and not attn.codebook.centroids.requires_grad


def sampled_batch(seed: int = 0):
    ei = random_graph(seed, n=80, e=200)
    x = torch.randn(80, 5)
    store = FeatureStore(hop_features(ei, x))
    loader = NeighborLoader(Graph(edge_index=ei, num_nodes=80), [4, 3], batch_size=16, features=store,
                            shuffle=True, seed=seed, prefetch=0)
    return next(iter(loader))


@pytest.mark.parametrize("mode", ["full", "local", "global"])
def test_shapes_on_a_loader_batch(mode: str) -> None:
    batch = sampled_batch()
    assert batch.x.shape[1] == 15  # [x | Ax | A^2x] gathered from the FeatureStore
    model = LargeGT(5, 16, 7, fanouts=(4, 3), heads=2, num_centroids=8, mode=mode)
    out = model(batch.x, batch, batch_size=batch.batch_size)
    assert out.shape == (batch.batch_size, 7) and bool(torch.isfinite(out).all())
    out.sum().backward()


def test_padding_does_not_change_the_output() -> None:
    """Past the batch's largest in-degree (4: a seed, sampled with fan-out 4, can be another seed's 1-hop
    neighbour), larger fan-outs only add padding: the output (eval) is the same."""
    batch = sampled_batch(1)
    assert int(batch.adj.degree().max()) == 4
    torch.manual_seed(0)
    small = LargeGT(5, 16, 3, fanouts=(4, 4), heads=2, num_centroids=8).eval()
    big = LargeGT(5, 16, 3, fanouts=(9, 6), heads=2, num_centroids=8).eval()
    big.load_state_dict(small.state_dict())
    torch.testing.assert_close(big(batch.x, batch, batch.batch_size), small(batch.x, batch, batch.batch_size))


def test_a_seed_without_neighbours_is_finite() -> None:
    model = LargeGT(2, 8, 3, fanouts=(3, 3), num_hops=0).eval()  # the seed's own token is all it has
    out = model(torch.randn(3, 2), torch.tensor([[1], [2]]), batch_size=1)
    assert bool(torch.isfinite(out).all())


def train_steps(seed: int) -> tuple:
    torch.manual_seed(seed)
    batch = sampled_batch(seed)
    model = LargeGT(5, 16, 3, fanouts=(4, 3), heads=2, num_centroids=8, dropout=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    y = torch.arange(batch.batch_size) % 3
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(batch.x, batch, batch.batch_size), y).backward()
        opt.step()
    return model.eval()(batch.x, batch, batch.batch_size), model.global_attn.codebook.centroids.clone()


def test_deterministic_under_a_seed() -> None:
    a, b, c = train_steps(0), train_steps(0), train_steps(1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_learns_planted_communities_from_neighbours() -> None:
    """Own features are noise, neighbours' (via tokens and A^2 x) carry the class: LargeGT must use the graph."""
    gen = torch.Generator().manual_seed(0)
    n, classes = 240, 3
    y = torch.arange(n) % classes
    src = torch.randint(n, (1200,), generator=gen)
    dst = torch.where(torch.rand(1200, generator=gen) < 0.9,
                      (src // classes + torch.randint(n // classes, (1200,), generator=gen)) % (n // classes)
                      * classes + src % classes, torch.randint(n, (1200,), generator=gen))
    ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
    x = F.one_hot(y, classes).float() * 0.6 + torch.randn(n, classes, generator=gen)
    g = Graph(edge_index=ei, num_nodes=n)
    store = FeatureStore(hop_features(ei, x))
    torch.manual_seed(0)
    model = LargeGT(classes, 16, classes, fanouts=(4, 2), num_centroids=8, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train = torch.arange(0, 160)
    for _ in range(15):
        for b in NeighborLoader(g, [4, 2], input_nodes=train, batch_size=40, features=store, shuffle=True,
                                seed=1, prefetch=0):
            opt.zero_grad()
            F.cross_entropy(model(b.x, b, b.batch_size), y[b.n_id[: b.batch_size]]).backward()
            opt.step()
    test = NeighborLoader(g, [4, 2], input_nodes=torch.arange(160, n), batch_size=80, features=store, seed=2,
                          prefetch=0)
    model.eval()
    with torch.no_grad():
        right = sum(int((model(b.x, b, b.batch_size).argmax(1) == y[b.n_id[: b.batch_size]]).sum()) for b in test)
    own = float((x[160:].argmax(1) == y[160:]).float().mean())
    assert right / 80 > 0.85 > own + 0.2


@pytest.mark.parametrize("kwargs, match", [
    (dict(fanouts=()), "fanouts"),
    (dict(fanouts=(2, 0)), "fanouts"),
    (dict(heads=3), "divisible by heads"),
    (dict(mode="both"), "mode"),
    (dict(num_hops=-1), "num_hops"),
])
def test_bad_constructor_arguments(kwargs: dict, match: str) -> None:
    args = dict(in_channels=2, hidden_channels=8, out_channels=3)
    with pytest.raises(ValueError, match=match):
        LargeGT(**{**args, **kwargs})


def test_bad_inputs_name_the_field() -> None:
    model = LargeGT(2, 8, 3, fanouts=(2,))
    ei = torch.tensor([[1], [0]])
    with pytest.raises(ValueError, match=r"x must have shape \[N, 6\].*got \[2, 2\]"):
        model(torch.randn(2, 2), ei)
    with pytest.raises(ValueError, match="batch_size must be an int in \\[1, 2\\].*got 5"):
        model(torch.randn(2, 6), ei, batch_size=5)
    with pytest.raises(ValueError, match="num_seeds"):
        hop_tokens(ei, 3, (2,), num_nodes=2)
    with pytest.raises(ValueError, match="decay"):
        KMeansCodebook(4, 2, decay=1.0)
    with pytest.raises(ValueError, match=r"z must have shape \[B, 2\]"):
        KMeansCodebook(4, 2).update(torch.randn(3, 5))
