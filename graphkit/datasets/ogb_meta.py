"""OGB metadata: ogb's master.csv files, the ones registered by users (and the bundled fixtures), names, folders.

ogb's ``master.csv`` is transposed (one column per data set, one row per property). Names and folder names from
any master.csv or ``meta.json`` are checked to be plain names (letters, digits, ``_``, ``-``, ``.``), so that
``root / name`` and ``root / download_name`` never leave ``root``.
"""
from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from graphkit.datasets.base import DataNotFoundError
from graphkit.io.store import default_root

__all__ = ["PREFIXES", "plain_name", "check_name", "read_master", "official_metas", "add_master", "is_registered",
           "ogb_names", "meta_info", "dataset_dir", "registered_root", "folder_meta", "meta_int", "meta_files"]

PREFIXES = {"ogbn": "nodeproppred", "ogbl": "linkproppred", "ogbg": "graphproppred"}
_REGISTERED: Dict[str, Dict[str, str]] = {}
_REGISTERED_ROOT: Dict[str, Path] = {}  # a registered set's default root: the folder of its master.csv
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")


def plain_name(value: Any, what: str, source: Any) -> str:
    """``value`` if it is one plain folder or file name (so ``root / value`` stays inside ``root``)."""
    if not isinstance(value, str) or not _PLAIN.fullmatch(value) or value in (".", ".."):
        raise ValueError(f"{what} {value!r} in {source} must be a plain name (letters, digits, '_', '-', '.'), "
                         "not a path")
    return value


def check_name(name: Any, source: Any) -> str:
    name = plain_name(name, "data set name", source)
    if name.split("-")[0] not in PREFIXES:
        raise ValueError(f"data set name {name!r} in {source} must start with ogbn-, ogbl- or ogbg-")
    return name


def read_master(path: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """ogb's master.csv is transposed: one column per data set, one row per property."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names = rows[0][1:]
    return {n: {r[0]: r[i + 1] for r in rows[1:] if len(r) > i + 1} for i, n in enumerate(names)}


@functools.lru_cache(maxsize=None)
def official_metas() -> Dict[str, Dict[str, str]]:
    import importlib.util

    spec = importlib.util.find_spec("ogb")
    if spec is None or not spec.submodule_search_locations:
        return {}
    base = Path(spec.submodule_search_locations[0])
    out: Dict[str, Dict[str, str]] = {}
    for sub in PREFIXES.values():
        out.update(read_master(base / sub / "master.csv"))
    return out


def add_master(path: Union[str, Path]) -> List[str]:
    """Add the data sets of a master.csv-style file (names and folders checked first); returns their names."""
    path = Path(path).resolve()
    metas = read_master(path)
    for name, meta in metas.items():
        check_name(name, path)
        if "download_name" in meta:
            plain_name(meta["download_name"], "download_name", path)
    for name, meta in metas.items():
        url = meta.get("url", "")
        if url and "://" not in url:
            meta["url"] = (path.parent / url).as_uri()
        _REGISTERED[name] = meta
        _REGISTERED_ROOT[name] = path.parent
    return list(metas)


def is_registered(name: str) -> bool:
    """Whether ``name`` came from :func:`add_master` (a fixture or a user's master.csv) rather than ogb's own."""
    return name in _REGISTERED


def ogb_names() -> List[str]:
    """Every name ``load_ogb`` accepts: ogb's master.csv files plus registered ones."""
    return sorted({**official_metas(), **_REGISTERED})


def meta_info(name: str) -> Dict[str, str]:
    meta = _REGISTERED.get(name) or official_metas().get(name)
    if meta is None:
        from graphkit.datasets.fixtures import FIXTURE_NAMES, fixtures_dir  # lazy: fixtures imports this module

        if name in FIXTURE_NAMES:
            if fixtures_dir() is None:
                raise DataNotFoundError(f"{name} is a fixture of graphkit's source tree (datasets/fixtures), which "
                                        "this install lacks; set GRAPHKIT_FIXTURES to a copy of that folder")
            meta = _REGISTERED.get(name)
        else:
            from graphkit.datasets.hetero_fixtures import maybe_ensure  # lazy: it imports this module

            if maybe_ensure(name) is not None:  # built from pykeen's / recbole's files on first use
                meta = _REGISTERED.get(name)
        if meta is None and name.split("-")[0] in PREFIXES and not official_metas():
            raise DataNotFoundError(f"OGB data set {name!r} needs the ogb package: pip install ogb==1.3.6")
    if meta is None:
        raise ValueError(f"unknown OGB data set {name!r}; known: {', '.join(ogb_names())}")
    return dict(meta)


def dataset_dir(name: str, root: Union[str, Path, None] = None) -> Path:
    if root is None:
        root = _REGISTERED_ROOT.get(name, default_root())
    return Path(root) / "_".join(name.split("-"))


def registered_root(name: str) -> Optional[Path]:
    """The folder a name registered with :func:`register_meta` loads from by default (None for ogb's own)."""
    return _REGISTERED_ROOT.get(name)


def folder_meta(folder: Path) -> tuple:
    """Meta of a folder in OGB format: ``meta.json`` inside it, or the parent's master.csv entry."""
    if (folder / "meta.json").is_file():
        meta = json.loads((folder / "meta.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError(f"{folder / 'meta.json'} must hold a JSON object")
        return check_name(meta.get("name"), folder / "meta.json"), meta
    master = folder.parent / "master.csv"
    if master.is_file():
        for name, meta in read_master(master).items():
            if "_".join(name.split("-")) == folder.name:
                return check_name(name, master), meta
    raise ValueError(f"folder {str(folder)!r} has no meta.json and its parent has no master.csv entry for it")


def meta_int(meta: Dict[str, str], key: str) -> Optional[int]:
    """An integer meta entry; missing, empty and "None" (ogb's own spelling) all mean None."""
    value = str(meta.get(key, "")).strip()
    return int(value) if value not in ("", "None") else None


def meta_files(meta: Dict[str, str], key: str) -> List[str]:
    value = meta.get(key, "None")
    return [] if value in ("None", "") else value.split(",")
