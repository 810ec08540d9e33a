"""MeshPool / MeshUnpool: MeshCNN's edge collapse keeps a valid manifold edge graph, and unpooling undoes it."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphkit.batch import Batch
from graphkit.data.mesh import mesh_edge_graph
from graphkit.nn import MeshConv, MeshPool, MeshUnpool

CUBE_V = [[-1, -1, -1], [-1, 1, -1], [1, 1, -1], [1, -1, -1], [-1, -1, 1], [-1, 1, 1], [1, 1, 1], [1, -1, 1]]
CUBE_F = [[0, 1, 3], [3, 1, 2], [0, 4, 1], [1, 4, 5], [3, 2, 7], [7, 2, 6],
          [4, 0, 3], [7, 4, 3], [6, 4, 7], [6, 5, 4], [1, 5, 6], [2, 1, 6]]  # CGAL's cube.off


def icosphere(levels: int = 2) -> tuple:
    """Loop-subdivided icosahedron on the unit sphere (12 vertices of valence 5, the rest valence 6)."""
    t = (1 + 5 ** 0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]]
    for _ in range(levels):
        mid: dict = {}

        def m(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in mid:
                mid[key] = len(v)
                v.append([(v[a][i] + v[b][i]) / 2 for i in range(3)])
            return mid[key]

        f = [g for a, b, c in f for g in ([a, m(a, b), m(c, a)], [b, m(b, c), m(a, b)], [c, m(c, a), m(b, c)],
                                          [m(a, b), m(b, c), m(c, a)])]
    vv = np.asarray(v, dtype=float)
    return torch.tensor(vv / np.linalg.norm(vv, axis=1, keepdims=True)), torch.tensor(f)


def torus(n: int = 12, k: int = 8, seed: int = 0) -> tuple:
    """A jittered torus (genus 1, Euler characteristic 0), every vertex of valence 6."""
    rng = np.random.default_rng(seed)
    v = [[(2 + math.cos(2 * math.pi * j / k)) * math.cos(2 * math.pi * i / n),
          (2 + math.cos(2 * math.pi * j / k)) * math.sin(2 * math.pi * i / n), math.sin(2 * math.pi * j / k)]
         for i in range(n) for j in range(k)]
    f = []
    for i in range(n):
        for j in range(k):
            a, b = i * k + j, i * k + (j + 1) % k
            c, d = ((i + 1) % n) * k + j, ((i + 1) % n) * k + (j + 1) % k
            f += [[a, c, d], [a, d, b]]
    return torch.tensor(np.asarray(v) + rng.normal(scale=0.02, size=(n * k, 3))), torch.tensor(f)


def graph(mesh: tuple):
    return mesh_edge_graph(*mesh)


def euler(nbr: torch.Tensor, ev: torch.Tensor) -> int:
    e = nbr.size(0)
    return ev.unique().numel() - e + 2 * e // 3


def assert_valid_closed(nbr: torch.Tensor, ev: torch.Tensor) -> None:
    """Every edge has 4 distinct neighbours forming two triangles in gemm order, the relation is symmetric, the
    faces are consistently oriented, and no edge is repeated."""
    nbr_l, ev_l = nbr.tolist(), [tuple(r) for r in ev.tolist()]
    e_count = len(nbr_l)
    assert len({tuple(sorted(r)) for r in ev_l}) == e_count, "duplicate edges"
    faces: dict = {}
    for e, row in enumerate(nbr_l):
        assert min(row) >= 0 and len(set(row)) == 4 and e not in row, (e, row)
        assert ev_l[e][0] != ev_l[e][1]
        for s, k in enumerate(row):
            assert e in nbr_l[k], f"edge {k} lists {e}? no: not symmetric"
        for a, b in ((row[0], row[1]), (row[2], row[3])):
            verts = set(ev_l[e]) | set(ev_l[a]) | set(ev_l[b])
            assert len(verts) == 3, (e, a, b, verts)
            faces[frozenset((e, a, b))] = faces.get(frozenset((e, a, b)), 0) + 1

        def meet(x: int) -> int:
            (v,) = set(ev_l[e]) & set(ev_l[x])
            return v
        # MeshCNN's order: a and d meet e at one end, b and c at the other (slot pairs (a, c), (b, d) in MeshConv)
        assert meet(row[0]) == meet(row[3]) != meet(row[1]) == meet(row[2]), (e, row)
    assert all(c == 3 for c in faces.values()) and 3 * len(faces) == 2 * e_count


MESHES = {"icosphere": lambda: icosphere(2), "torus": lambda: torus(), "cube": lambda: (torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(CUBE_F))}


@pytest.mark.parametrize("name", list(MESHES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_collapse_keeps_a_valid_manifold_edge_graph(name: str, seed: int) -> None:
    g = graph(MESHES[name]())
    nbr, ev = g.gemm.t(), g.edge_vertices
    assert_valid_closed(nbr, ev)
    chi = euler(nbr, ev)
    x = torch.randn(g.num_nodes, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for share in (0.75, 0.5):
        target = int(share * nbr.size(0))
        out = MeshPool(target)(x, nbr, ev)
        assert out.nbr.size(0) == out.x.size(0) == 3 * (target // 3)  # closed: E stays a multiple of 3
        assert_valid_closed(out.nbr, out.edge_vertices)
        assert euler(out.nbr, out.edge_vertices) == chi
        x, nbr, ev = out.x, out.nbr, out.edge_vertices


def test_collapse_order_and_features() -> None:
    """The first collapse takes the smallest-norm edge: it disappears, its two faces' edge pairs merge, and the
    two merged edges each average three input edges."""
    g = graph(icosphere(1))
    nbr, ev = g.gemm.t(), g.edge_vertices
    x = 1 + torch.rand(g.num_nodes, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    e = 17
    x[e] = 0.01
    out = MeshPool(g.num_nodes - 3)(x, nbr, ev)
    groups = out.history.groups
    kept = torch.ones(g.num_nodes, dtype=torch.bool)
    a, b, c, d = nbr[e].tolist()
    removed = {e, b, d}  # of each face (e, a, b) and (e, c, d) the first slot's edge stays and takes over the other
    kept[list(removed)] = False
    old_of_new = kept.nonzero().view(-1)
    for new, old in enumerate(old_of_new.tolist()):
        members = set(groups[1][groups[0] == new].tolist())
        expected = {old, e, b} if old == a else {old, e, d} if old == c else {old}
        assert members == expected, (old, members)
        assert torch.allclose(out.x[new], x[sorted(expected)].mean(0))


def test_unpool_restores_sizes_and_scatters_back() -> None:
    g = graph(torus())
    nbr, ev = g.gemm.t(), g.edge_vertices
    x = torch.randn(g.num_nodes, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    p1 = MeshPool(0.6)(x, nbr, ev)
    p2 = MeshPool(0.5)(p1.x, p1.nbr, p1.edge_vertices, p1.batch)
    u2 = MeshUnpool()(p2.x, p2.history)
    assert u2.shape == p1.x.shape and torch.equal(p2.history.nbr, p1.nbr)
    u1 = MeshUnpool()(u2, p1.history)
    assert u1.shape == x.shape and torch.equal(p1.history.nbr, nbr)
    # every input edge sits in a group, so a constant field comes back unchanged
    const = torch.full_like(p2.x, 2.5)
    assert torch.allclose(MeshUnpool()(MeshUnpool()(const, p2.history), p1.history), torch.full_like(x, 2.5))
    # brute force: each input edge gets the mean of the pooled edges whose groups hold it
    groups = p1.history.groups.tolist()
    for e in range(0, g.num_nodes, 7):
        holders = [p for p, k in zip(*groups) if k == e]
        assert holders and torch.allclose(u1[e], u2[holders].mean(0))


def test_batched_equals_per_mesh_and_feeds_meshconv() -> None:
    meshes = [icosphere(1), torus(), (torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(CUBE_F)), torus(8, 6, 1)]
    graphs = [graph(m) for m in meshes]
    b = Batch.from_graphs(graphs)
    x = torch.randn(b.num_nodes, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pool = MeshPool(0.5)
    out = pool(x, b.gemm.t(), b.edge_vertices, b.batch)
    start = start_out = 0
    for m, g in enumerate(graphs):
        one = pool(x[start:start + g.num_nodes], g.gemm.t(), g.edge_vertices)
        k = one.x.size(0)
        assert torch.equal(out.batch[start_out:start_out + k], torch.full((k,), m))
        assert torch.equal(out.x[start_out:start_out + k], one.x)
        assert torch.equal(out.nbr[start_out:start_out + k], one.nbr + start_out)
        assert torch.equal(out.edge_vertices[start_out:start_out + k], one.edge_vertices)
        start, start_out = start + g.num_nodes, start_out + k
    assert start_out == out.x.size(0)
    conv = MeshConv(5, 3).double()
    y = conv(out.x, out.nbr)
    back = MeshUnpool()(y, out.history)
    assert back.shape == (b.num_nodes, 3)
    back.sum().backward()
    assert conv.kernels[0].weight.grad is not None


def test_gradients_flow_through_the_averaging() -> None:
    g = graph(icosphere(1))
    x = torch.randn(g.num_nodes, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    pool = MeshPool(0.5)
    hist = pool(x, g.gemm.t(), g.edge_vertices).history
    torch.autograd.gradcheck(lambda t: pool(t, g.gemm.t(), g.edge_vertices).x, (x,))
    torch.autograd.gradcheck(lambda t: MeshUnpool()(t, hist), (torch.randn(hist.groups[0].max() + 1, 2,
                                                                           dtype=torch.float64, requires_grad=True),))


def test_boundary_edges_are_not_collapsed() -> None:
    """An open strip: edges on, or next to, the boundary stay; the rest of the mesh still pools."""
    n, rings = 10, 6
    v = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n), z] for z in range(rings) for i in range(n)]
    f = []
    for z in range(rings - 1):
        for i in range(n):
            a, b, c, d = z * n + i, z * n + (i + 1) % n, (z + 1) * n + i, (z + 1) * n + (i + 1) % n
            f += [[a, b, d], [a, d, c]]
    g = mesh_edge_graph(torch.tensor(v, dtype=torch.float64), torch.tensor(f))
    nbr = torch.where(g.gemm_mask, g.gemm.t(), torch.full_like(g.gemm.t(), -1))
    out = MeshPool(1)(torch.ones(g.num_nodes, 1, dtype=torch.float64), nbr, g.edge_vertices)
    assert 0 < out.x.size(0) < g.num_nodes
    assert int((out.nbr < 0).any(1).sum()) == int((nbr < 0).any(1).sum())  # every boundary edge kept
    present = out.nbr >= 0
    for e, k in present.nonzero().tolist():
        assert e in out.nbr[out.nbr[e, k]].tolist()


@pytest.mark.parametrize("target, exc", [(0, ValueError), (1.5, ValueError), (True, TypeError), ("half", TypeError)])
def test_bad_target(target, exc) -> None:
    with pytest.raises(exc, match="target"):
        MeshPool(target)


def test_bad_inputs_name_the_field() -> None:
    g = graph(icosphere(0))
    pool = MeshPool(0.5)
    with pytest.raises(ValueError, match="nbr must be"):
        pool(g.x, g.gemm, g.edge_vertices)
    with pytest.raises(ValueError, match="nbr must lie"):
        pool(g.x, g.gemm.t() + 100, g.edge_vertices)
    with pytest.raises(ValueError, match="edge_vertices"):
        pool(g.x, g.gemm.t(), g.edge_vertices[:3])
    with pytest.raises(ValueError, match="batch must be sorted"):
        pool(g.x, g.gemm.t(), g.edge_vertices, torch.arange(g.num_nodes).flip(0))
    with pytest.raises(ValueError, match="outside its own edges"):
        pool(g.x, g.gemm.t(), g.edge_vertices, (torch.arange(g.num_nodes) >= 15).long())
    with pytest.raises(ValueError, match="pooled edge"):
        MeshUnpool()(torch.zeros(2, 3), pool(g.x, g.gemm.t(), g.edge_vertices).history)


def test_asymmetric_neighbours_are_rejected() -> None:
    g = graph(icosphere(0))
    nbr = g.gemm.t().clone()
    nbr[0, 0] = next(k for k in range(g.num_nodes) if k not in nbr[0].tolist() and k != 0)
    with pytest.raises(ValueError, match="not symmetric"):
        MeshPool(0.5)(g.x, nbr, g.edge_vertices)
