"""The sheaf Laplacian against its definition, its spectrum, and its gradients."""
import pytest
import torch

from graphkit.nn.sheaf import SheafLaplacian, cayley, householder
from graphkit.nn.sheaf.laplacian import sym_inv_sqrt

D64 = torch.float64


def undirected(pairs, n):
    a = torch.tensor(pairs, dtype=torch.long).t()
    return torch.cat([a, a.flip(0)], dim=1), n


def random_graph(n=7, p=0.5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if torch.rand(1, generator=gen) < p]
    pairs += [(i, i + 1) for i in range(n - 1) if (i, i + 1) not in pairs]  # connected
    return undirected(pairs, n)


def full_maps(maps, d):
    return torch.diag_embed(maps) if maps.dim() == 2 else maps


def dense_from_definition(ei, n, maps, weight, normalised):
    """delta^T W delta, one row of the coboundary per undirected edge, then D^{-1/2} L D^{-1/2}."""
    d = maps.size(-1)
    fm = full_maps(maps, d)
    rows = []
    for k in range(ei.size(1)):
        s, t = int(ei[0, k]), int(ei[1, k])
        if s >= t:  # one coboundary row per undirected edge
            continue
        r = next(j for j in range(ei.size(1)) if int(ei[0, j]) == t and int(ei[1, j]) == s)
        row = torch.zeros(d, n * d, dtype=maps.dtype)
        row[:, t * d:(t + 1) * d] = fm[k]  # F_{t <| e}
        row[:, s * d:(s + 1) * d] = -fm[r]  # F_{s <| e}
        rows.append(row * weight[k].sqrt())
    delta = torch.cat(rows)
    lap = delta.t() @ delta
    if not normalised:
        return lap
    dinv = torch.zeros_like(lap)
    for v in range(n):
        blk = slice(v * d, (v + 1) * d)
        dinv[blk, blk] = sym_inv_sqrt(lap[blk, blk])
    return dinv @ lap @ dinv


def make_maps(kind, num_edges, d, seed=1):
    gen = torch.Generator().manual_seed(seed)
    if kind == "diagonal":
        return torch.randn(num_edges, d, generator=gen, dtype=D64)
    if kind == "general":
        return torch.randn(num_edges, d, d, generator=gen, dtype=D64)
    return householder(torch.randn(num_edges, d * (d - 1) // 2, generator=gen, dtype=D64), d)


@pytest.mark.parametrize("kind", ["diagonal", "orthogonal", "general"])
@pytest.mark.parametrize("normalised", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_matches_dense_definition_and_is_symmetric_psd(kind, normalised, weighted):
    ei, n = random_graph()
    d = 3
    lap = SheafLaplacian(ei, n, d)
    maps = make_maps(kind, lap.num_edges, d)
    w = torch.rand(lap.num_edges, dtype=D64)
    w = (w + w[lap.rev]) / 2 if weighted else torch.ones(lap.num_edges, dtype=D64)
    got = lap.dense(maps, w if weighted else None, normalised, orthogonal=kind == "orthogonal")
    want = dense_from_definition(lap.edge_index, n, maps, w, normalised)
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(got, got.t(), atol=1e-12, rtol=0)
    evals = torch.linalg.eigvalsh(got)
    assert evals.min() > -1e-10
    if normalised:  # the normalised Laplacian's spectrum lies in [0, 2]
        assert evals.max() < 2 + 1e-10


def test_d1_identity_maps_is_normalised_graph_laplacian():
    ei, n = random_graph(n=9, p=0.3, seed=3)
    lap = SheafLaplacian(ei, n, 1)
    got = lap.dense(torch.ones(lap.num_edges, 1, dtype=D64))
    adj = torch.zeros(n, n, dtype=D64)
    adj[ei[1], ei[0]] = 1.0
    dm = adj.sum(1).rsqrt()
    want = torch.eye(n, dtype=D64) - dm[:, None] * adj * dm[None, :]
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    # the same with full 1x1 maps and with the orthogonal shortcut
    full = torch.ones(lap.num_edges, 1, 1, dtype=D64)
    torch.testing.assert_close(lap.dense(full), want, atol=1e-12, rtol=0)
    torch.testing.assert_close(lap.dense(full, orthogonal=True), want, atol=1e-12, rtol=0)


def kernel_dim(mat, tol=1e-8):
    return int((torch.linalg.eigvalsh(mat).abs() < tol).sum())


@pytest.mark.parametrize("param", [householder, cayley])
def test_orthogonal_sheaf_global_sections(param):
    d = 3
    gen = torch.Generator().manual_seed(5)
    # A tree: every O(d) sheaf on a tree is trivialisable, so ker has dimension d (the global sections).
    tree, n = undirected([(0, 1), (1, 2), (1, 3), (3, 4), (3, 5)], 6)
    lap = SheafLaplacian(tree, n, d)
    maps = param(torch.randn(lap.num_edges, 3, generator=gen, dtype=D64), d)
    assert kernel_dim(lap.dense(maps, orthogonal=True)) == d
    # A connected graph with cycles and a consistent (gauge-transformed trivial) sheaf: F_{v <| e} = Q_v.
    ei, n = random_graph(n=8, p=0.5, seed=2)
    lap = SheafLaplacian(ei, n, d)
    q = param(torch.randn(n, 3, generator=gen, dtype=D64), d)
    consistent = q[lap.edge_index[1]]
    assert kernel_dim(lap.dense(consistent, orthogonal=True)) == d
    # Generic maps on the same graph: non-trivial holonomy around cycles kills every global section.
    generic = param(torch.randn(lap.num_edges, 3, generator=gen, dtype=D64), d)
    assert kernel_dim(lap.dense(generic, orthogonal=True)) == 0


@pytest.mark.parametrize("param", [householder, cayley])
def test_orthogonal_parameterisations(param):
    for d in (1, 2, 4):
        q = param(torch.randn(10, d * (d - 1) // 2, dtype=D64), d)
        eye = torch.eye(d, dtype=D64).expand(10, d, d)
        torch.testing.assert_close(q @ q.transpose(1, 2), eye, atol=1e-12, rtol=0)
    assert torch.allclose(torch.linalg.det(cayley(torch.randn(4, 3, dtype=D64), 3)), torch.ones(4, dtype=D64))


@pytest.mark.parametrize("kind", ["diagonal", "general", "householder", "cayley"])
def test_gradcheck_float64(kind):
    ei, n = random_graph(n=5, p=0.5, seed=4)
    d = 2
    lap = SheafLaplacian(ei, n, d)
    x = torch.randn(n, d, 3, dtype=D64, requires_grad=True)
    size = {"diagonal": (lap.num_edges, d), "general": (lap.num_edges, d, d)}.get(kind, (lap.num_edges, 1))
    raw = torch.randn(*size, dtype=D64, requires_grad=True)
    w0 = torch.rand(lap.num_edges, dtype=D64) + 0.5
    w = ((w0 + w0[lap.rev]) / 2).requires_grad_()

    def fn(x, raw, w):
        maps = raw if kind in ("diagonal", "general") else (householder if kind == "householder" else cayley)(raw, d)
        return lap.apply(x, maps, w, orthogonal=kind in ("householder", "cayley"))

    assert torch.autograd.gradcheck(fn, (x, raw, w))


def test_self_loops_dropped_and_isolated_nodes_are_zero():
    ei = torch.tensor([[0, 1, 2, 0], [1, 0, 2, 0]])  # node 2 only has a self-loop; node 3 is isolated
    lap = SheafLaplacian(ei, 4, 2)
    assert lap.num_edges == 2
    dense = lap.dense(torch.ones(2, 2, dtype=D64))
    assert dense[4:].abs().max() == 0 and dense[:, 4:].abs().max() == 0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"undirected: edge 0 \(0 -> 1\)"):
        SheafLaplacian(torch.tensor([[0, 1], [1, 2]]), 3, 2)
    with pytest.raises(ValueError, match="num_nodes is 2"):
        SheafLaplacian(torch.tensor([[0, 2], [2, 0]]), 2, 1)
    lap = SheafLaplacian(torch.tensor([[0, 1], [1, 0]]), 2, 2)
    with pytest.raises(ValueError, match=r"maps must have shape .* got \[3, 2\]"):
        lap.apply(torch.zeros(2, 2, 1), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"x must have shape \[2, 2, F\]"):
        lap.apply(torch.zeros(2, 3, 1), torch.zeros(2, 2))
