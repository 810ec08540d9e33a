from __future__ import annotations

import importlib.util
import math
import os
import tarfile

import numpy as np
import pytest
import torch

from graphkit.batch import Batch
from graphkit.data.mesh import mesh_edge_graph, mesh_to_graph, read_mesh
from graphkit.testing import assert_raises_in_subprocess

CUBE_V = [[-1, -1, -1], [-1, 1, -1], [1, 1, -1], [1, -1, -1], [-1, -1, 1], [-1, 1, 1], [1, 1, 1], [1, -1, 1]]
CUBE_F = [[0, 1, 3], [3, 1, 2], [0, 4, 1], [1, 4, 5], [3, 2, 7], [7, 2, 6],
          [4, 0, 3], [7, 4, 3], [6, 4, 7], [6, 5, 4], [1, 5, 6], [2, 1, 6]]  # CGAL's cube.off
TET_V = [[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
TET_F = [[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]]


def tube(n: int = 8, rings: int = 4, seed: int = 0) -> tuple:
    """An open, jittered cylinder: a real boundary on both ends."""
    rng = np.random.default_rng(seed)
    verts = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n), z] for z in range(rings) for i in range(n)]
    verts = np.asarray(verts) + rng.normal(scale=0.05, size=(n * rings, 3))
    faces = []
    for z in range(rings - 1):
        for i in range(n):
            a, b, c, d = z * n + i, z * n + (i + 1) % n, (z + 1) * n + i, (z + 1) * n + (i + 1) % n
            faces += [[a, b, d], [a, d, c]]
    return torch.tensor(verts), torch.tensor(faces)


def meshcnn_gemm(faces: list) -> tuple:
    """A line-by-line port of MeshCNN's ``build_gemm`` (models/layers/mesh_prepare.py): the reference order."""
    edge_nb, sides, edge2key, edges, nb_count = [], [], {}, [], []
    for face in faces:
        faces_edges = [tuple(sorted((face[i], face[(i + 1) % 3]))) for i in range(3)]
        for edge in faces_edges:
            if edge not in edge2key:
                edge2key[edge] = len(edges)
                edges.append(list(edge))
                edge_nb.append([-1, -1, -1, -1])
                sides.append([-1, -1, -1, -1])
                nb_count.append(0)
        for idx, edge in enumerate(faces_edges):
            k = edge2key[edge]
            edge_nb[k][nb_count[k]] = edge2key[faces_edges[(idx + 1) % 3]]
            edge_nb[k][nb_count[k] + 1] = edge2key[faces_edges[(idx + 2) % 3]]
            nb_count[k] += 2
        for idx, edge in enumerate(faces_edges):
            k = edge2key[edge]
            sides[k][nb_count[k] - 2] = nb_count[edge2key[faces_edges[(idx + 1) % 3]]] - 1
            sides[k][nb_count[k] - 1] = nb_count[edge2key[faces_edges[(idx + 2) % 3]]] - 2
    return np.array(edges), np.array(edge_nb), np.array(sides)


def reference_features(v: np.ndarray, faces: list, edges: np.ndarray) -> np.ndarray:
    """The five features from their geometric definitions, face by face (no edge_points trick)."""
    out = []
    for a, b in edges:
        incident = [f for f in faces if a in f and b in f]
        normals, angles, ratios = [], [], []
        for f in incident:
            p, q, r = (v[i] for i in f)
            n = np.cross(q - p, r - p)
            normals.append(n / np.linalg.norm(n))
            o = v[[i for i in f if i not in (a, b)][0]]
            u, w = v[a] - o, v[b] - o
            angles.append(math.acos(np.clip(u @ w / np.linalg.norm(u) / np.linalg.norm(w), -1, 1)))
            length = np.linalg.norm(v[b] - v[a])
            ratios.append(np.linalg.norm(np.cross(v[b] - v[a], o - v[a])) / length / length)
        if len(incident) == 1:  # MeshCNN mirrors the single face: folded onto itself, dihedral 0
            out.append([0.0, *(angles * 2), *(ratios * 2)])
            continue
        dihedral = math.pi - math.acos(np.clip(normals[0] @ normals[1], -1, 1))
        out.append([dihedral, *sorted(angles), *sorted(ratios)])
    return np.array(out)


@pytest.mark.parametrize("name", ["tet", "cube", "tube"])
def test_edge_graph_matches_meshcnn_reference(name: str) -> None:
    if name == "tube":
        v, f = tube()
    else:
        v, f = (torch.tensor(TET_V), torch.tensor(TET_F)) if name == "tet" else (
            torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(CUBE_F))
    g = mesh_edge_graph(v, f)
    g.validate()
    edges, gemm, sides = meshcnn_gemm(f.tolist())
    assert g.edge_vertices.tolist() == edges.tolist()
    mask = gemm >= 0
    assert torch.equal(g.gemm_mask, torch.from_numpy(mask))
    own = np.arange(len(edges))[:, None].repeat(4, 1)
    assert g.gemm.t().tolist() == np.where(mask, gemm, own).tolist()
    assert g.gemm_sides.tolist() == sides.tolist()
    ref = reference_features(v.double().numpy(), f.tolist(), edges)
    np.testing.assert_allclose(g.x.numpy(), ref, atol=1e-10)
    # edge_index lists the real slots, in slot order, grouped by edge
    assert g.edge_index[0].tolist() == gemm[mask].tolist()
    assert int(g.num_boundary_edges) == int((~mask[:, 2]).sum())


def test_known_angles() -> None:
    g = mesh_edge_graph(torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(CUBE_F))
    dihedral = sorted(round(d, 10) for d in g.x[:, 0].tolist())
    assert dihedral == [round(math.pi / 2, 10)] * 12 + [round(math.pi, 10)] * 6
    # a regular tetrahedron: dihedral arccos(1/3), inner angles 60 degrees, ratio sqrt(3)/2
    s = math.sqrt(2)
    reg = torch.tensor([[1.0, 0, -1 / s], [-1.0, 0, -1 / s], [0, 1.0, 1 / s], [0, -1.0, 1 / s]], dtype=torch.float64)
    g = mesh_edge_graph(reg, torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]]))
    torch.testing.assert_close(g.x[:, 0], torch.full((6,), math.acos(1 / 3), dtype=torch.float64))
    torch.testing.assert_close(g.x[:, 1:3], torch.full((6, 2), math.pi / 3, dtype=torch.float64))
    torch.testing.assert_close(g.x[:, 3:], torch.full((6, 2), math.sqrt(3) / 2, dtype=torch.float64))


def test_features_are_rotation_and_scale_invariant() -> None:
    v, f = tube()
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    a, b = mesh_edge_graph(v, f), mesh_edge_graph(3.0 * v @ q.T + 1.0, f)
    torch.testing.assert_close(a.x, b.x, atol=1e-10, rtol=0)


def test_batched_edge_graphs_offset_gemm() -> None:
    a = mesh_edge_graph(torch.tensor(TET_V, dtype=torch.float64), torch.tensor(TET_F))
    b = mesh_edge_graph(*tube())
    batch = Batch.from_graphs([a, b])
    assert batch.gemm.shape == (4, a.num_nodes + b.num_nodes)
    assert torch.equal(batch.gemm[:, a.num_nodes:] - a.num_nodes, b.gemm)
    back = batch.to_graphs()[1]
    assert torch.equal(back.gemm, b.gemm) and torch.equal(back.x, b.x)


def test_vertex_graph_matches_brute_force() -> None:
    v, f = tube(6, 3)
    g = mesh_to_graph(v, f)
    g.validate()
    brute = set()
    for tri in f.tolist():
        for i in range(3):
            s, t = tri[i], tri[(i + 1) % 3]
            brute |= {(s, t), (t, s)}
    pairs = list(zip(*g.edge_index.tolist()))
    assert len(pairs) == len(brute) and set(pairs) == brute
    s, t = g.edge_index
    torch.testing.assert_close(g.edge_attr[:, :3], v[s] - v[t])
    torch.testing.assert_close(g.edge_attr[:, 3], (v[s] - v[t]).norm(dim=1))
    torch.testing.assert_close(g.normal.norm(dim=1), torch.ones(len(v), dtype=torch.float64))
    assert torch.equal(g.face, f.t())


def test_degenerate_faces_dropped_counted_or_rejected() -> None:
    v = torch.tensor(TET_V + [[2.0, 0, 0]])  # vertex 4 is collinear with 0 and 1
    f = torch.tensor(TET_F + [[0, 0, 2], [0, 1, 4]])
    g = mesh_edge_graph(v, f)
    assert int(g.num_dropped_faces) == 2 and g.num_nodes == 6
    assert int(mesh_to_graph(v, f).num_dropped_faces) == 2
    with pytest.raises(ValueError, match=r"face 4 \[0, 0, 2\] is degenerate"):
        mesh_edge_graph(v, f, on_degenerate="raise")
    with pytest.raises(ValueError, match="no faces left"):
        mesh_edge_graph(v, torch.tensor([[0, 0, 1], [0, 1, 4]]))


def test_non_manifold_edge() -> None:
    v = torch.tensor(TET_V + [[1.0, 1, 1]])
    f = torch.tensor(TET_F + [[0, 2, 4]])  # a third face on edge (0, 2), repeating directed edge 0->2
    g = mesh_edge_graph(v, f)
    assert int(g.num_dropped_faces) == 1 and g.num_nodes == 6
    with pytest.raises(ValueError, match="non-manifold"):
        mesh_edge_graph(v, f, on_non_manifold="raise")
    assert mesh_to_graph(v, f).num_nodes == 5  # the vertex graph keeps any face soup


def test_inconsistently_oriented_faces_are_reoriented() -> None:
    """ux review R3c: a tetrahedron with two faces flipped lost one of its six edges (two faces dropped)."""
    v = torch.tensor(TET_V)
    consistent = mesh_edge_graph(v, torch.tensor(TET_F))
    mixed = torch.tensor([[0, 1, 2], [0, 1, 3], [1, 2, 3], [0, 2, 3]])  # 0->1 crossed twice, and so on
    g = mesh_edge_graph(v, mixed, on_non_manifold="raise")
    assert g.num_nodes == 6 and int(g.num_dropped_faces) == 0 and int(g.num_boundary_edges) == 0
    assert sorted(map(tuple, g.edge_vertices.tolist())) == sorted(map(tuple, consistent.edge_vertices.tolist()))
    # the first face keeps its orientation, so the whole surface is the mirror of TET_F: same features
    order = [consistent.edge_vertices.tolist().index(e) for e in g.edge_vertices.tolist()]
    torch.testing.assert_close(g.x, consistent.x[order])
    cube = mesh_edge_graph(torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(CUBE_F))
    flipped = [f[::-1] if i % 3 == 0 else f for i, f in enumerate(CUBE_F)]
    again = mesh_edge_graph(torch.tensor(CUBE_V, dtype=torch.float64), torch.tensor(flipped), on_non_manifold="raise")
    assert again.num_nodes == cube.num_nodes == 18 and int(again.num_dropped_faces) == 0


def test_non_orientable_strip_is_reported() -> None:
    """A Moebius strip cannot be oriented: its conflicting face is dropped and counted, or raises."""
    n = 6
    verts = [[math.cos(2 * math.pi * i / n) * (1 + 0.3 * s), math.sin(2 * math.pi * i / n) * (1 + 0.3 * s),
              0.3 * s * math.sin(math.pi * i / n)] for i in range(n) for s in (-1, 1)]
    faces = []
    for i in range(n):
        a, b = 2 * i, 2 * i + 1
        c, d = (2 * i + 2, 2 * i + 3) if i < n - 1 else (1, 0)  # the half twist: the last rung joins swapped
        faces += [[a, b, c], [b, d, c]]
    g = mesh_edge_graph(torch.tensor(verts), torch.tensor(faces))
    assert int(g.num_dropped_faces) >= 1
    with pytest.raises(ValueError, match="inconsistently oriented"):
        mesh_edge_graph(torch.tensor(verts), torch.tensor(faces), on_non_manifold="raise")


@pytest.mark.parametrize(
    "verts,faces,exc,match",
    [
        (TET_V, [[0, 1, 9]], ValueError, "vertex index 9 but the mesh has 4"),
        (TET_V, [[0, -1, 2]], ValueError, "negative"),
        ([[0.0, 0, float("nan")]] + TET_V[1:], TET_F, ValueError, "non-finite"),
        (TET_V, [[0, 1, 2, 3]], ValueError, r"\[F, 3\]"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], TypeError, "floating"),
        (TET_V, np.zeros((0, 3), dtype=np.int64), ValueError, "empty"),
    ],
)
@pytest.mark.parametrize("fn", [mesh_to_graph, mesh_edge_graph])
def test_bad_meshes(verts: list, faces: list, exc: type, match: str, fn) -> None:
    with pytest.raises(exc, match=match):
        fn(torch.as_tensor(np.asarray(verts)), torch.as_tensor(np.asarray(faces)))


def test_read_off_polygons_comments_and_colours(tmp_path) -> None:
    path = tmp_path / "quad.off"
    path.write_text("COFF\n# a comment\n4 1 0\n0 0 0 9 9 9 255\n1 0 0 9 9 9 255\n1 1 0 0 0 0 255\n0 1 0 1 1 1 255\n4 0 1 2 3\n")
    v, f = read_mesh(path)
    assert v.shape == (4, 3) and f.tolist() == [[0, 1, 2], [0, 2, 3]]
    (tmp_path / "bad.off").write_text("OFF\n3 1 0\n0 0 0\n")
    with pytest.raises(ValueError, match="truncated"):
        read_mesh(tmp_path / "bad.off")
    with pytest.raises(FileNotFoundError):
        read_mesh(tmp_path / "missing.off")


def test_meshio_failure_becomes_value_error(tmp_path) -> None:
    path = tmp_path / "broken.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 3\nend_header\n0 0\n")
    assert_raises_in_subprocess(
        f"from graphkit.data.mesh import read_mesh\nread_mesh({str(path)!r})", "ValueError", "broken.ply"
    )


def test_real_meshes_round_trip() -> None:
    spec = importlib.util.find_spec("pyvista")
    if spec is None:
        pytest.skip("pyvista's example meshes are not installed (pip install --no-deps pyvista==0.49.1)")
    ply = os.path.join(spec.submodule_search_locations[0], "examples", "ant.ply")
    v, f = read_mesh(ply)
    assert v.shape == (486, 3) and f.shape == (912, 3)
    g = mesh_edge_graph(v, f)
    assert g.num_nodes == 1368 and bool(torch.isfinite(g.x).all())
    cgal = "/usr/share/doc/libcgal-dev/data.tar.gz"
    if os.path.exists(cgal):
        with tarfile.open(cgal) as tar:
            text = tar.extractfile("data/meshes/icosahedron.off").read()
        path = os.path.join(os.path.dirname(__file__), "_icosahedron.off")
        try:
            with open(path, "wb") as fh:
                fh.write(text)
            v, f = read_mesh(path)
        finally:
            os.remove(path)
        g = mesh_edge_graph(v, f)
        assert g.num_nodes == 30 and int(g.num_boundary_edges) == 0
        torch.testing.assert_close(g.x[:, 1:3], torch.full((30, 2), math.pi / 3, dtype=torch.float64), atol=1e-4, rtol=0)
