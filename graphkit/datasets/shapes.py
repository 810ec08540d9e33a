"""The catalogue of real 3-D shapes behind the point-cloud and mesh classification sets.

Every object is a real scanned or modelled shape from a package on this machine, never copied into the
repository:

* CGAL's demo data, ``/usr/share/doc/libcgal-dev/data.tar.gz`` (Debian ``libcgal-demo``), ``data/meshes/*.off``
  (read straight out of the archive);
* pyvista 0.49.1's example meshes ``pyvista/examples/{airplane,ant,nut,sphere}.ply``;
* pygsp 0.6.1's Stanford bunny point cloud ``pygsp/data/pointclouds/bunny.mat`` (points only, no faces).

Five classes, several objects each. An object missing on this machine is skipped (``available_objects``).
"""
from __future__ import annotations

import os
import tarfile
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import numpy as np

from graphkit.data.mesh_io import parse_off, read_mesh

__all__ = ["CATALOGUE", "CLASSES", "CGAL_ARCHIVE", "available_objects", "load_object", "load_objects", "sample_surface",
           "random_rotation", "split_objects", "object_folds"]

CGAL_ARCHIVE = os.environ.get("GRAPHKIT_CGAL_DATA", "/usr/share/doc/libcgal-dev/data.tar.gz")

# object name -> source ("cgal:<file>", "pyvista:<file>" or "pygsp:bunny")
CATALOGUE: Dict[str, Dict[str, str]] = {
    "animal": {n: f"cgal:{n}.off" for n in ("elephant", "camel", "cow", "bull", "elk", "pig", "triceratops",
                                             "dino", "lion", "bear", "bunny00", "diplodocus")}
    | {"ant": "pyvista:ant.ply", "bunny_points": "pygsp:bunny"},
    "human": {n: f"cgal:{n}.off" for n in ("man", "homer", "mannequin-devil", "head", "hand", "nefertiti")},
    "man_made": {n: f"cgal:{n}.off" for n in ("fandisk", "rotor", "pinion", "couplingdown", "spool", "joint",
                                               "part", "turbine", "mech-holes-shark", "anchor", "blade", "boeing")}
    | {"nut": "pyvista:nut.ply", "airplane": "pyvista:airplane.ply"},
    "blob": {n: f"cgal:{n}.off" for n in ("sphere", "ellipsoid", "geosphere", "larger_sphere", "blob", "blobby",
                                           "sphere966", "ellipe0.003")} | {"sphere_pv": "pyvista:sphere.ply"},
    "knot": {n: f"cgal:{n}.off" for n in ("knot", "knot1", "knot2", "eight", "double-torus-3-holes",
                                           "double-torus-example", "3torus", "handle")},
}
CLASSES: List[str] = list(CATALOGUE)


@lru_cache(maxsize=1)
def _cgal_members() -> Dict[str, str]:
    if not os.path.exists(CGAL_ARCHIVE):
        return {}
    with tarfile.open(CGAL_ARCHIVE) as tar:
        return {os.path.basename(m.name): m.name for m in tar.getmembers() if m.name.startswith("data/meshes/")}


def _package_dir(name: str) -> Optional[str]:
    import importlib.util

    spec = importlib.util.find_spec(name)
    return spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None


def _exists(source: str) -> bool:
    kind, _, file = source.partition(":")
    if kind == "cgal":
        return file in _cgal_members()
    if kind == "pyvista":
        base = _package_dir("pyvista")
        return base is not None and os.path.exists(os.path.join(base, "examples", file))
    base = _package_dir("pygsp")
    return base is not None and os.path.exists(os.path.join(base, "data", "pointclouds", "bunny.mat"))


def available_objects() -> List[Tuple[str, str, str]]:
    """``(class, object, source)`` of every catalogued object present on this machine, in catalogue order."""
    return [(c, o, s) for c, objs in CATALOGUE.items() for o, s in objs.items() if _exists(s)]


def load_object(source: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``(vertices [V, 3] float64, faces [F, 3] int64 or None for a point cloud)`` of one catalogued object."""
    return load_objects([source])[0]


def load_objects(sources: List[str]) -> List[Tuple[np.ndarray, Optional[np.ndarray]]]:
    """:func:`load_object` for many sources, reading the CGAL archive in a single pass."""
    wanted = {s.partition(":")[2]: None for s in sources if s.startswith("cgal:")}
    if wanted:
        members = _cgal_members()
        by_member = {members[f]: f for f in wanted}
        with tarfile.open(CGAL_ARCHIVE) as tar:
            for member in tar:
                if member.name in by_member:
                    text = tar.extractfile(member).read().decode("utf-8", "replace")
                    file = by_member[member.name]
                    wanted[file] = parse_off(text, f"{CGAL_ARCHIVE}:{file}")
    out = []
    for source in sources:
        kind, _, file = source.partition(":")
        if kind == "cgal":
            out.append(wanted[file])
        elif kind == "pyvista":
            v, f = read_mesh(os.path.join(_package_dir("pyvista"), "examples", file))
            out.append((v.numpy(), f.numpy()))
        else:
            from scipy.io import loadmat

            points = loadmat(os.path.join(_package_dir("pygsp"), "data", "pointclouds", "bunny.mat"))["bunny"]
            out.append((np.asarray(points, dtype=np.float64), None))
    return out


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation drawn uniformly from SO(3) (QR of a Gaussian matrix with the sign fix)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def normalize(points: np.ndarray) -> np.ndarray:
    """Centre at the mean and scale into the unit ball."""
    points = points - points.mean(0)
    return points / max(float(np.linalg.norm(points, axis=1).max()), 1e-12)


def sample_surface(v: np.ndarray, f: Optional[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniformly on the surface (area-weighted triangles, uniform barycentric), or from the points."""
    if f is None:
        idx = rng.choice(len(v), n, replace=len(v) < n)
        return v[idx]
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    tri = rng.choice(len(f), n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    return (1 - s)[:, None] * a[tri] + (s * (1 - r2))[:, None] * b[tri] + (s * r2)[:, None] * c[tri]


def split_objects(objects: List[Tuple[str, str, str]], seed: int = 0) -> Dict[str, List[int]]:
    """Object-level split: per class, one object to valid, about a quarter (at least one) to test, rest train.

    Splitting by object (not by sample) keeps every rotation/sampling of a test shape out of training.
    """
    rng = np.random.default_rng(seed)
    out: Dict[str, List[int]] = {"train": [], "valid": [], "test": []}
    for c in dict.fromkeys(o[0] for o in objects):
        members = [i for i, o in enumerate(objects) if o[0] == c]
        members = [members[j] for j in rng.permutation(len(members))]
        n_test = max(1, len(members) // 4)
        out["test"] += members[:n_test]
        out["valid"] += members[n_test:n_test + 1]
        out["train"] += members[n_test + 1:]
    return out


def object_folds(objects: List[Tuple[str, str, str]], k: int, seed: int = 0) -> List[Dict[str, List[int]]]:
    """Leave-objects-out cross-validation: ``k`` object-level splits in which every object is tested exactly once.

    Per class the objects are shuffled and dealt to the folds in turn (the dealing continues across classes, so
    the folds differ in size by at most one). Fold ``i`` tests its own objects; from the rest, one object per
    class (the first in the shuffled order that is not in fold ``i``) validates and the others train.

    >>> objs = [("a", str(i), "") for i in range(6)] + [("b", str(i), "") for i in range(4)]
    >>> folds = object_folds(objs, 3)
    >>> sorted(i for f in folds for i in f["test"]) == list(range(10))
    True
    >>> all(len(f["valid"]) == 2 and not set(f["valid"]) & set(f["test"]) for f in folds)
    True
    """
    if k < 2 or k > len(objects):
        raise ValueError(f"k must lie in [2, {len(objects)}] (the number of objects), got {k}")
    rng = np.random.default_rng(seed)
    fold_of: Dict[int, int] = {}
    order: Dict[str, List[int]] = {}
    turn = 0
    for c in dict.fromkeys(o[0] for o in objects):
        members = [i for i, o in enumerate(objects) if o[0] == c]
        order[c] = [members[j] for j in rng.permutation(len(members))]
        for i in order[c]:
            fold_of[i] = turn % k
            turn += 1
    folds = []
    for f in range(k):
        test = [i for i in range(len(objects)) if fold_of[i] == f]
        valid = [next(i for i in members if fold_of[i] != f) for members in order.values()
                 if any(fold_of[i] != f for i in members)]
        train = [i for i in range(len(objects)) if fold_of[i] != f and i not in valid]
        folds.append({"train": train, "valid": valid, "test": test})
    return folds
