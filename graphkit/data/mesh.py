r"""Triangle meshes as graphs: the vertex graph, and MeshCNN's edge graph.

Two constructions of one mesh ``(vertices [V, 3], faces [F, 3])``:

* :func:`mesh_to_graph`: nodes are vertices, edges the mesh edges in both directions, with the edge geometry
  ``edge_attr = [p_s - p_t, ||p_s - p_t||]`` and area-weighted vertex normals.
* :func:`mesh_edge_graph`: MeshCNN's graph (Hanocka et al., 2019). Every mesh edge is a node; its four
  neighbours are the other two edges of each incident face, in MeshCNN's ``gemm_edges`` order; its features
  are MeshCNN's five: dihedral angle, the two inner angles opposite the edge (sorted), and the two
  height / edge-length ratios of the incident triangles (sorted).

Bad meshes, handled the way MeshCNN's ``remove_non_manifolds`` does, with the counts reported:

* **degenerate faces** (a repeated vertex, or zero area): dropped (``on_degenerate="drop"``) or
  ``ValueError`` (``"raise"``).
* **inconsistently oriented faces** (two faces crossing their shared edge in the same direction): re-oriented
  by :func:`orient_faces`, a breadth-first walk over faces sharing an edge that flips each face to agree with
  the face it was reached from (the first face of each connected piece keeps its orientation).
* **non-manifold faces** (a face repeating a directed edge of an earlier face after orientation: a third face on
  an edge, a duplicated face, or a non-orientable surface such as a Moebius strip): dropped in face order
  (``on_non_manifold="drop"``) or ``ValueError``. Only the edge graph needs this; the vertex graph is defined for
  any face soup.
* **boundary edges** (one incident face): gemm slots 2 and 3 are missing. ``gemm`` holds the edge's own id
  there and ``gemm_mask`` is ``False``, so a MeshConv reads zeros for them, as MeshCNN's zero padding does.
  The features mirror the one face, as MeshCNN's ``get_side_points`` does: the face folded onto itself, so
  dihedral angle ``0``, and equal angles and equal ratios.
* A mesh left with no faces raises ``ValueError``.

We divide by exact vector norms (MeshCNN adds 0.1 to every norm, which makes its "normals" non-unit); the
features here are the true angles and ratios.
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor

from graphkit.data.mesh_io import read_mesh
from graphkit.graph import Graph

__all__ = ["mesh_to_graph", "mesh_edge_graph", "read_mesh", "clean_faces", "orient_faces", "mesh_edges"]

_CHOICES = ("drop", "raise")


def _as_arrays(vertices: Tensor, faces: Tensor) -> Tuple[np.ndarray, np.ndarray, torch.dtype]:
    if not isinstance(vertices, Tensor):
        vertices = torch.as_tensor(np.asarray(vertices))
    if not isinstance(faces, Tensor):
        faces = torch.as_tensor(np.asarray(faces))
    if vertices.dim() != 2 or vertices.size(1) != 3:
        raise ValueError(f"vertices must have shape [V, 3], got {list(vertices.shape)}")
    if not vertices.is_floating_point():
        raise TypeError(f"vertices must be floating point, got dtype {vertices.dtype}")
    if faces.is_floating_point() or faces.dtype == torch.bool:
        raise TypeError(f"faces must be an integer tensor, got dtype {faces.dtype}")
    if faces.dim() != 2 or faces.size(1) != 3:
        raise ValueError(f"faces must have shape [F, 3] (one triangle per row), got {list(faces.shape)}")
    if not bool(torch.isfinite(vertices).all()):
        bad = (~torch.isfinite(vertices)).nonzero()[0].tolist()
        raise ValueError(f"vertices has a non-finite value {vertices[tuple(bad)].item()} at {bad}")
    v, f = vertices.detach().cpu().double().numpy(), faces.cpu().long().numpy()
    if f.size and f.min() < 0:
        raise ValueError(f"faces has negative vertex index {int(f.min())}")
    if f.size and f.max() >= len(v):
        raise ValueError(f"faces has vertex index {int(f.max())} but the mesh has {len(v)} vertices")
    return v, f, vertices.dtype


def _face_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Unnormalised face normals; their length is twice the face area."""
    return np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])


def _half_edges(f: np.ndarray, num_vertices: int) -> np.ndarray:
    """``[F, 3]`` keys of the directed edges ``(f[i], f[i+1])``."""
    return f * num_vertices + np.roll(f, -1, axis=1)


def orient_faces(f: np.ndarray, num_vertices: int) -> Tuple[np.ndarray, int]:
    """Flip faces so that neighbours cross each shared edge in opposite directions: ``(faces, number flipped)``.

    A breadth-first walk over faces joined by a manifold edge (exactly two faces); the first face of each connected
    piece keeps its orientation. A mesh that is already consistent is returned unchanged (the common case costs
    one ``np.unique``). Edges with three or more faces, duplicated faces and non-orientable pieces are left for
    :func:`clean_faces` to reject.

    >>> orient_faces(np.array([[0, 1, 2], [0, 1, 3]]), 4)  # both cross edge 0 -> 1: the second is flipped
    (array([[0, 1, 2],
           [0, 3, 1]]), 1)
    """
    directed = _half_edges(f, num_vertices).ravel()
    if len(np.unique(directed)) == len(directed):
        return f, 0
    f = f.copy()
    faces = f.tolist()
    of_edge: Dict[Tuple[int, int], List[int]] = defaultdict(list)
    for i, face in enumerate(faces):
        for j in range(3):
            a, b = face[j], face[(j + 1) % 3]
            of_edge[(min(a, b), max(a, b))].append(i)
    seen = [False] * len(faces)
    flipped = 0
    for start in range(len(faces)):
        if seen[start]:
            continue
        seen[start] = True
        queue = deque([start])
        while queue:
            i = queue.popleft()
            face = faces[i]
            for j in range(3):
                a, b = face[j], face[(j + 1) % 3]
                pair = of_edge[(min(a, b), max(a, b))]
                if len(pair) != 2:  # boundary, or non-manifold: nothing to agree with
                    continue
                k = pair[0] if pair[1] == i else pair[1]
                other = faces[k]
                if seen[k] or set(other) == set(face):  # a duplicated face is clean_faces' business
                    continue
                if any(other[t] == a and other[(t + 1) % 3] == b for t in range(3)):  # same direction: flip
                    faces[k] = [other[0], other[2], other[1]]
                    flipped += 1
                seen[k] = True
                queue.append(k)
    f[:] = np.asarray(faces, dtype=f.dtype).reshape(f.shape)
    return f, flipped


def clean_faces(
    v: np.ndarray, f: np.ndarray, on_degenerate: str = "drop", on_non_manifold: str = "drop", manifold: bool = True
) -> Tuple[np.ndarray, int, int]:
    """Drop (or reject) degenerate and, if ``manifold``, non-manifold faces: ``(kept faces, n_degen, n_nonman)``.

    With ``manifold``, inconsistently oriented faces are first re-oriented by :func:`orient_faces`.
    """
    for name, value in (("on_degenerate", on_degenerate), ("on_non_manifold", on_non_manifold)):
        if value not in _CHOICES:
            raise ValueError(f"{name} must be one of {_CHOICES}, got {value!r}")
    area2 = np.linalg.norm(_face_normals(v, f), axis=1)
    scale = float(np.ptp(v, axis=0).max()) if len(v) else 0.0
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
    degenerate = repeated | (area2 <= 1e-14 * scale * scale)
    if degenerate.any() and on_degenerate == "raise":
        i = int(np.flatnonzero(degenerate)[0])
        raise ValueError(f"face {i} {f[i].tolist()} is degenerate (zero area); pass on_degenerate='drop'")
    f = f[~degenerate]
    n_nonman = 0
    if manifold and len(f):
        f, _ = orient_faces(f, len(v))
        directed = _half_edges(f, len(v)).ravel()
        if len(np.unique(directed)) != len(directed):
            keep = np.ones(len(f), dtype=bool)
            seen: set = set()
            for i, keys in enumerate(directed.reshape(-1, 3).tolist()):
                if any(k in seen for k in keys):
                    if on_non_manifold == "raise":
                        a, b = divmod(next(k for k in keys if k in seen), len(v))
                        raise ValueError(
                            f"face {i} {f[i].tolist()} repeats the directed edge ({a}, {b}) of an earlier face: "
                            "the mesh is non-manifold or inconsistently oriented; pass on_non_manifold='drop'"
                        )
                    keep[i] = False
                else:
                    seen.update(keys)
            n_nonman = int((~keep).sum())
            f = f[keep]
    if len(f) == 0:
        raise ValueError(
            f"mesh has no faces left after dropping {int(degenerate.sum())} degenerate and {n_nonman} "
            "non-manifold faces"
        )
    return f, int(degenerate.sum()), n_nonman


def mesh_edges(f: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Undirected mesh edges in MeshCNN's order (first appearance over faces, each as a sorted vertex pair).

    Returns ``(edges [E, 2], face_edge [F, 3])`` where ``face_edge[f, i]`` is the id of edge
    ``(f[i], f[i+1])``.
    """
    a, b = f, np.roll(f, -1, axis=1)
    lo, hi = np.minimum(a, b).ravel(), np.maximum(a, b).ravel()
    keys = lo * (int(f.max()) + 1) + hi
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    edge_of = rank[inverse.ravel()]
    edges = np.empty((len(first), 2), dtype=np.int64)
    edges[edge_of, 0], edges[edge_of, 1] = lo, hi
    return edges, edge_of.reshape(-1, 3)


def mesh_to_graph(vertices: Tensor, faces: Tensor, on_degenerate: str = "drop") -> Graph:
    r"""The vertex graph of a triangle mesh.

    Nodes are vertices; every mesh edge :math:`\{s, t\}` gives edges ``s -> t`` and ``t -> s`` (grouped by
    target) with ``edge_attr = [p_s - p_t, \lVert p_s - p_t \rVert]``. ``normal`` is the area-weighted vertex
    normal (unit length, zero for a vertex on no face), ``face`` the kept faces as ``[3, F]`` and
    ``num_dropped_faces`` the degenerate faces removed.

    Shapes:
        - vertices: ``(V, 3)``; faces: ``(F, 3)`` int
        - output ``pos``/``normal``: ``(V, 3)``; ``edge_index``: ``(2, 2 E_mesh)``; ``edge_attr``: ``(2 E_mesh, 4)``

    >>> g = mesh_to_graph(torch.tensor([[0., 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]))
    >>> g.num_nodes, g.num_edges, [round(d, 4) for d in g.edge_attr[:, 3].tolist()]
    (3, 6, [1.0, 1.0, 1.0, 1.4142, 1.0, 1.4142])
    """
    v, f, dtype = _as_arrays(vertices, faces)
    if len(f) == 0:
        raise ValueError("faces is empty: a mesh needs at least one triangle")
    f, n_degen, _ = clean_faces(v, f, on_degenerate, manifold=False)
    edges, _ = mesh_edges(f)
    pairs = np.concatenate([edges, edges[:, ::-1]])
    pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]  # grouped by target, then by source
    delta = v[pairs[:, 0]] - v[pairs[:, 1]]
    attr = np.concatenate([delta, np.linalg.norm(delta, axis=1, keepdims=True)], axis=1)
    normals = np.zeros_like(v)
    fn = _face_normals(v, f)
    for i in range(3):
        np.add.at(normals, f[:, i], fn)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-300)
    return Graph(
        pos=torch.as_tensor(v).to(dtype),
        edge_index=torch.from_numpy(np.ascontiguousarray(pairs.T)),
        edge_attr=torch.from_numpy(attr).to(dtype),
        normal=torch.from_numpy(normals).to(dtype),
        face=torch.from_numpy(np.ascontiguousarray(f.T)),
        num_dropped_faces=torch.tensor(n_degen),
        kinds={"normal": "node", "face": "node_index", "num_dropped_faces": "graph"},
    )


def _gemm(f: np.ndarray, edge_of: np.ndarray, num_edges: int) -> Tuple[np.ndarray, np.ndarray]:
    """MeshCNN's ``gemm_edges`` and ``sides`` ``[E, 4]`` (``-1`` where a boundary edge has no second face)."""
    flat = edge_of.ravel()
    order = np.argsort(flat, kind="stable")  # occurrences of each edge in face order
    starts = np.searchsorted(flat[order], np.arange(num_edges))
    occ = np.empty_like(flat)
    occ[order] = np.arange(len(flat)) - starts[flat[order]]
    occ = occ.reshape(-1, 3)
    nxt, prv = np.roll(edge_of, -1, axis=1), np.roll(edge_of, -2, axis=1)
    occ_nxt, occ_prv = np.roll(occ, -1, axis=1), np.roll(occ, -2, axis=1)
    gemm = np.full((num_edges, 4), -1, dtype=np.int64)
    sides = np.full((num_edges, 4), -1, dtype=np.int64)
    e, o = edge_of.ravel(), occ.ravel()
    gemm[e, 2 * o], gemm[e, 2 * o + 1] = nxt.ravel(), prv.ravel()
    # Where this edge sits in its neighbours' lists: the next edge lists it second, the previous one first.
    sides[e, 2 * o], sides[e, 2 * o + 1] = 2 * occ_nxt.ravel() + 1, 2 * occ_prv.ravel()
    return gemm, sides


def _edge_points(edges: np.ndarray, gemm: np.ndarray) -> np.ndarray:
    """MeshCNN's ``get_side_points``: ``[E, 4]`` = the edge's two vertices and the two opposite vertices."""
    g = gemm.copy()
    boundary = g[:, 2] < 0
    g[boundary, 2], g[boundary, 3] = g[boundary, 0], g[boundary, 1]
    ea, eb, ec, ed, ee = edges, edges[g[:, 0]], edges[g[:, 1]], edges[g[:, 2]], edges[g[:, 3]]
    first = (ea[:, 1:2] == eb).any(axis=1).astype(np.int64)
    second = (eb[:, 1:2] == ec).any(axis=1).astype(np.int64)
    third = (ed[:, 1:2] == ee).any(axis=1).astype(np.int64)
    rows = np.arange(len(edges))
    return np.stack(
        [ea[rows, first], ea[rows, 1 - first], eb[rows, second], ed[rows, third]], axis=1
    )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rows of ``a`` and ``b``; ``atan2(|a x b|, a . b)`` stays exact near 0 and pi, arccos does not."""
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), (a * b).sum(1))


def _features(v: np.ndarray, ep: np.ndarray) -> np.ndarray:
    p0, p1, o1, o2 = v[ep[:, 0]], v[ep[:, 1]], v[ep[:, 2]], v[ep[:, 3]]
    n1, n2 = _unit(np.cross(o1 - p0, p1 - p0)), _unit(np.cross(o2 - p1, p0 - p1))
    dihedral = np.pi - _angle(n1, n2)

    def ratio(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        length = np.linalg.norm(b - a, axis=1)
        height = np.linalg.norm(np.cross(b - a, o - a), axis=1) / length  # distance from o to line ab
        return height / length

    angles = np.sort(np.stack([_angle(p0 - o1, p1 - o1), _angle(p1 - o2, p0 - o2)]), axis=0)
    ratios = np.sort(np.stack([ratio(o1, p0, p1), ratio(o2, p1, p0)]), axis=0)
    return np.concatenate([dihedral[None], angles, ratios]).T


def mesh_edge_graph(
    vertices: Tensor, faces: Tensor, on_degenerate: str = "drop", on_non_manifold: str = "drop"
) -> Graph:
    r"""MeshCNN's edge graph: one node per mesh edge, linked to the four edges of its two incident faces.

    For edge :math:`e` in face :math:`(e, a, b)` (counter-clockwise from :math:`e`) and face :math:`(e, c, d)`,
    ``gemm[:, e] = (a, b, c, d)`` in MeshCNN's ``gemm_edges`` order (the face seen first fills slots 0-1).
    ``x`` holds the five MeshCNN features ``[dihedral, angle_min, angle_max, ratio_min, ratio_max]``.
    Fields: ``x [E, 5]``, ``pos [E, 3]`` (edge midpoints), ``gemm [4, E]`` (a ``node_index`` field, so batching
    offsets it), ``gemm_mask [E, 4]`` (``False`` for a boundary edge's missing slots, whose ``gemm`` entry is
    the edge itself), ``gemm_sides [E, 4]`` (MeshCNN's ``sides``, ``-1`` where missing), ``edge_vertices [E, 2]``
    (the mesh's local vertex ids; not offset when batched), ``edge_index`` (neighbour -> edge, the real slots
    only, in slot order) with ``edge_slot`` (0-3), and the counts ``num_dropped_faces`` / ``num_boundary_edges``.

    Shapes:
        - vertices: ``(V, 3)``; faces: ``(F, 3)`` int
        - output ``x``: ``(E, 5)``; ``gemm``: ``(4, E)``; ``edge_index``: ``(2, 4 E - 2 E_boundary)``

    >>> tet = torch.tensor([[0., 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> g = mesh_edge_graph(tet, torch.tensor([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]]))
    >>> g.num_nodes, g.x.shape, int(g.gemm_mask.sum())
    (6, torch.Size([6, 5]), 24)
    """
    v, f, dtype = _as_arrays(vertices, faces)
    if len(f) == 0:
        raise ValueError("faces is empty: a mesh needs at least one triangle")
    f, n_degen, n_nonman = clean_faces(v, f, on_degenerate, on_non_manifold)
    edges, edge_of = mesh_edges(f)
    num_edges = len(edges)
    gemm, sides = _gemm(f, edge_of, num_edges)
    feats = _features(v, _edge_points(edges, gemm))
    mask = gemm >= 0
    own = np.arange(num_edges)[:, None]
    filled = np.where(mask, gemm, own)
    target = np.broadcast_to(own, gemm.shape)[mask]
    slot = np.broadcast_to(np.arange(4), gemm.shape)[mask]
    return Graph(
        x=torch.from_numpy(feats).to(dtype),
        pos=torch.from_numpy((v[edges[:, 0]] + v[edges[:, 1]]) / 2).to(dtype),
        edge_index=torch.from_numpy(np.stack([gemm[mask], target])),
        edge_slot=torch.from_numpy(slot.copy()),
        gemm=torch.from_numpy(np.ascontiguousarray(filled.T)),
        gemm_mask=torch.from_numpy(mask),
        gemm_sides=torch.from_numpy(sides),
        edge_vertices=torch.from_numpy(edges),
        num_dropped_faces=torch.tensor(n_degen + n_nonman),
        num_boundary_edges=torch.tensor(int((~mask[:, 2]).sum())),
        kinds={
            "edge_slot": "edge",
            "gemm": "node_index",
            "gemm_mask": "node",
            "gemm_sides": "node",
            "edge_vertices": "node",
            "num_dropped_faces": "graph",
            "num_boundary_edges": "graph",
        },
    )
