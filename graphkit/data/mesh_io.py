"""Read triangle meshes from .off, .ply and .obj files into ``(vertices [V, 3], faces [F, 3])`` tensors.

.ply and .obj (and anything else meshio knows) go through ``meshio``. .off goes through the small reader below:
meshio's OFF reader accepts triangles only, rejects comment lines, the ``COFF``/``NOFF`` headers and a header
with the counts on the same line, and calls ``sys.exit`` on a malformed file. Polygons with more than three
corners are fan-triangulated in both paths.
"""
from __future__ import annotations

import os
from typing import List, Tuple, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ["read_mesh", "read_off", "parse_off", "triangulate"]

PathLike = Union[str, "os.PathLike[str]"]


def triangulate(polygons: List[List[int]]) -> np.ndarray:
    """Fan-triangulate polygons ``[v0, v1, ..., vk]`` into triangles ``(v0, vi, vi+1)``: ``[F, 3]`` int64."""
    tris = [(p[0], p[i], p[i + 1]) for p in polygons for i in range(1, len(p) - 1)]
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def read_off(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Parse an OFF file (``OFF``, ``COFF``, ``NOFF``, ``CNOFF`` headers; per-vertex/face colours ignored)."""
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        return parse_off(fh.read(), str(path))


def parse_off(text: str, path: str = "<off>") -> Tuple[np.ndarray, np.ndarray]:
    """Parse the text of an OFF file (see :func:`read_off`); ``path`` only names it in errors."""
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or not lines[0].split()[0].upper().endswith("OFF"):
        raise ValueError(f"{path}: not an OFF file (first line {lines[0][:40] if lines else ''!r})")
    header = lines[0].split()[1:]
    body = 1
    if not header:
        header = lines[1].split()
        body = 2
    try:
        num_v, num_f = int(header[0]), int(header[1])
    except (IndexError, ValueError):
        raise ValueError(f"{path}: bad OFF counts line {' '.join(header)!r}") from None
    if len(lines) < body + num_v + num_f:
        raise ValueError(f"{path}: truncated, expected {num_v} vertices and {num_f} faces")
    verts = np.array([ln.split()[:3] for ln in lines[body : body + num_v]], dtype=np.float64).reshape(-1, 3)
    polys = []
    for i, ln in enumerate(lines[body + num_v : body + num_v + num_f]):
        parts = ln.split()
        k = int(parts[0])
        if k < 3 or len(parts) < k + 1:
            raise ValueError(f"{path}: face {i} has {k} corners ({ln[:40]!r}); need at least 3")
        polys.append([int(v) for v in parts[1 : k + 1]])
    return verts, triangulate(polys)


def _read_meshio(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    try:
        import meshio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading .ply/.obj meshes needs meshio: pip install 'graphkit[mesh]'") from None
    try:
        mesh = meshio.read(path)
    except SystemExit:  # meshio exits the interpreter on some malformed files
        raise ValueError(f"{path}: meshio could not read this file") from None
    except Exception as exc:  # meshio raises assorted types (ReadError, ValueError, IndexError, ...)
        raise ValueError(f"{path}: meshio could not read this file: {exc}") from exc
    parts = []
    for block in mesh.cells:
        data = np.asarray(block.data)
        if block.type == "triangle":
            parts.append(data.astype(np.int64))
        elif block.type == "quad" or block.type.startswith("polygon"):
            parts.append(triangulate(data.tolist()))
    faces = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
    return np.asarray(mesh.points, dtype=np.float64)[:, :3], faces


def read_mesh(path: PathLike, dtype: torch.dtype = torch.float64) -> Tuple[Tensor, Tensor]:
    """Read a triangle mesh: ``(vertices [V, 3] of dtype, faces [F, 3] int64)``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an unreadable one.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no mesh file at {path!r}")
    verts, faces = read_off(path) if path.lower().endswith(".off") else _read_meshio(path)
    if faces.size and (faces.min() < 0 or faces.max() >= len(verts)):
        raise ValueError(f"{path}: faces reference vertex {int(faces.max())} but the mesh has {len(verts)} vertices")
    return torch.from_numpy(verts).to(dtype), torch.from_numpy(faces)
