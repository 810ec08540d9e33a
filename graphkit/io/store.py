"""The one pickle-free store: a folder of ``.npy`` arrays and a checked ``manifest.json``.

Every cache graphkit writes (the OGB cache, the processed data sets of ``graphkit.datasets``) is an
:class:`ArrayStore`:

* **Format**: one ``NNNN.npy`` file per array (``numpy.save``, read back with ``allow_pickle=False``, so loading
  never runs code), and ``manifest.json``::

      {"format": 2, "key": {...}, "arrays": {name: {"file", "bytes", "sha256"}}, "meta": {...}}

  ``key`` holds what the data was built from (data-set name, parameters); ``meta`` is free-form JSON. Array names
  are ``/``-separated paths (:func:`flatten`/:func:`unflatten` map nested dicts to them) and form a tree: no name
  is also a folder of another.
* **Checks** on load: the format number, the key, the manifest's schema, every file confined to the folder (a
  plain ``NNNN.npy`` name, not a link out of it), its size and (``verify=True``) sha256, and a plain ``ndarray``
  inside. Any failure, of whatever kind, means "rebuild": :meth:`ArrayStore.load` returns ``None`` and logs one
  warning on the ``graphkit.io`` logger saying why. Caches of graphkit 0.1 (``data.npz``, or an array folder
  with ``"format": 1``) fail the format check, so they are rebuilt, never misread.
* **Writes**: the manifest is removed first and written last, every file through
  :func:`graphkit.io.atomic.atomic_write`; a crash mid-save leaves a store without a manifest, i.e. a rebuild.
  :func:`load_or_build` builds under an exclusive lock on ``<folder>/.lock`` and looks again once it holds it, so
  processes that start together (the ranks of ``graphkit train --nproc``) build once and never see half a store.

The store owns its folder: :meth:`ArrayStore.save` deletes the store files (``*.npy``, graphkit 0.1's ``data.npz``,
temporary files) it finds there, and nothing else.

>>> import tempfile
>>> store = ArrayStore(Path(tempfile.mkdtemp()) / "demo", key={"n": 3})
>>> store.save({"x": np.arange(3), "y/z": np.ones(2)}, meta={"note": "hi"})
>>> arrays, meta = store.load()
>>> arrays["x"].tolist(), meta
([0, 1, 2], {'note': 'hi'})
>>> ArrayStore(store.folder, key={"n": 4}).load() is None  # built from other parameters: rebuild
True
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent first builds then just do the work twice
    fcntl = None  # type: ignore[assignment]

import numpy as np

from graphkit.io.atomic import atomic_write, atomic_write_text

__all__ = ["ArrayStore", "load_or_build", "default_root", "sha256_file", "flatten", "unflatten", "STORE_FORMAT",
           "DATA_ENV"]

STORE_FORMAT = 2  # 1 was graphkit 0.1's two stores (data.npz + manifest; the OGB .npy folder); never read back
DATA_ENV = "GRAPHKIT_DATA"
MANIFEST = "manifest.json"
_MEMBER = re.compile(r"[0-9]{4,}\.npy")
_LEGACY = ("data.npz", "manifest.json.tmp")  # graphkit 0.1's files, removed when a store is rewritten
_TUPLE = "T:"  # marks a tuple key, e.g. ('paper', 'cites', 'paper') of an ogb heterograph

Arrays = Dict[str, np.ndarray]
PathLike = Union[str, "os.PathLike[str]"]
log = logging.getLogger("graphkit.io")


def default_root() -> Path:
    """Where graphkit keeps data by default: ``$GRAPHKIT_DATA`` if set, else ``~/.cache/graphkit``."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path.home() / ".cache" / "graphkit"


def sha256_file(path: PathLike) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class _Damaged(Exception):
    """Why a store cannot be used (internal: :meth:`ArrayStore.load` turns it into ``None`` and a log line)."""


def _check_names(names: Any) -> None:
    """Array names are non-empty ``/``-paths forming a tree (no name is a folder of another)."""
    names = list(names)
    for name in names:
        if not isinstance(name, str) or not name or "" in name.split("/"):
            raise _Damaged(f"array name {name!r} is not a non-empty '/'-separated path")
    folders = {name[: i] for name in names for i in range(len(name)) if name[i] == "/"}
    clash = folders.intersection(names)
    if clash:
        raise _Damaged(f"array name {sorted(clash)[0]!r} is both an array and a folder of arrays")


class ArrayStore:
    """Named numpy arrays plus JSON meta in ``folder``, valid only for ``key`` (see the module docstring)."""

    def __init__(self, folder: PathLike, key: Mapping[str, Any]) -> None:
        self.folder = Path(folder)
        self.key: Dict[str, Any] = json.loads(json.dumps(dict(key)))  # compared after a JSON round trip

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    def exists(self) -> bool:
        """A manifest is there (it is written last); says nothing about validity, see :meth:`problem`."""
        return self.manifest_path.is_file()

    def _member(self, name: Any) -> Path:
        if not isinstance(name, str) or not _MEMBER.fullmatch(name):
            raise _Damaged(f"manifest names file {name!r}, which is not a store file (NNNN.npy)")
        path = self.folder / name
        if path.is_symlink() or path.resolve().parent != self.folder.resolve():
            raise _Damaged(f"{path} points outside {self.folder}")
        return path

    def _read(self, verify: bool) -> Tuple[Arrays, Dict[str, Any]]:
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise _Damaged(f"unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict):
            raise _Damaged(f"manifest is a JSON {type(manifest).__name__}, not an object")
        if manifest.get("format") != STORE_FORMAT:
            raise _Damaged(f"written in store format {manifest.get('format')!r} by an older graphkit; "
                           f"this one reads format {STORE_FORMAT}")
        if manifest.get("key") != self.key:
            raise _Damaged(f"built with {manifest.get('key')}, need {self.key}")
        entries, meta = manifest.get("arrays"), manifest.get("meta", {})
        if not isinstance(entries, dict) or not isinstance(meta, dict):
            raise _Damaged("manifest 'arrays' and 'meta' must be JSON objects")
        _check_names(entries)
        arrays: Arrays = {}
        for name, entry in entries.items():
            if not isinstance(entry, dict):
                raise _Damaged(f"manifest entry of {name!r} is not a JSON object")
            path = self._member(entry.get("file"))
            size, digest = entry.get("bytes"), entry.get("sha256")
            if not path.is_file():
                raise _Damaged(f"{path} is missing or not a file")
            actual = path.stat().st_size
            if actual != size:
                raise _Damaged(f"{path} has {actual} bytes, manifest says {size!r} (truncated?)")
            if verify and sha256_file(path) != digest:
                raise _Damaged(f"{path} does not match its sha256 (corrupt)")
            value = np.load(path, allow_pickle=False)
            if not isinstance(value, np.ndarray):
                raise _Damaged(f"{path} holds a {type(value).__name__}, not one array")
            arrays[name] = value
        return arrays, meta

    def problem(self, verify: bool = True) -> Optional[str]:
        """Why the store cannot be used (``"missing"`` when there is none), or ``None`` when it is valid."""
        if not self.exists():
            return "missing"
        try:
            self._read(verify)
        except _Damaged as exc:
            return str(exc)
        except Exception as exc:  # any other damage (EOFError, BadZipFile, IsADirectoryError, ...) also means rebuild
            return f"{type(exc).__name__}: {exc}"
        return None

    def load(self, verify: bool = True, report: bool = True) -> Optional[Tuple[Arrays, Dict[str, Any]]]:
        """``(arrays, meta)``, or ``None`` when the store is missing or unusable (``report``: a warning says why)."""
        if not self.exists():
            return None
        try:
            return self._read(verify)
        except _Damaged as exc:
            why = str(exc)
        except Exception as exc:  # any other damage (EOFError, BadZipFile, IsADirectoryError, ...) also means rebuild
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        if report:
            log.warning("rebuilding %s: %s", self.folder, why)
        return None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive advisory lock on ``<folder>/.lock`` (blocks while another process holds it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        with open(self.folder / ".lock", "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def clear(self) -> None:
        """Remove the manifest (first: a store without one is never trusted), then the store's own files."""
        if not self.folder.is_dir():
            return
        self.manifest_path.unlink(missing_ok=True)
        for path in self.folder.iterdir():
            ours = _MEMBER.fullmatch(path.name) or path.name in _LEGACY or (
                path.name.startswith(".") and ".tmp" in path.name)
            if not ours:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def save(self, arrays: Mapping[str, np.ndarray], meta: Optional[Mapping[str, Any]] = None) -> None:
        """Replace the store's content with ``arrays`` (numeric, bool or str dtypes; never object) and ``meta``."""
        try:
            _check_names(arrays)
        except _Damaged as exc:
            raise ValueError(str(exc)) from None
        for name, value in arrays.items():
            if not isinstance(value, np.ndarray):
                raise TypeError(f"array {name!r} is a {type(value).__name__}; the store takes numpy arrays")
            if value.dtype.hasobject:
                raise TypeError(f"array {name!r} has dtype object, which cannot be stored without pickle")
        meta_text = json.dumps(dict(meta or {}))  # fails before anything is written if meta is not JSON
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clear()
        entries = {}
        for i, name in enumerate(sorted(arrays)):
            path = self.folder / f"{i:04d}.npy"
            value = np.ascontiguousarray(arrays[name])
            atomic_write(path, lambda fh: np.save(fh, value, allow_pickle=False))
            entries[name] = {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
        manifest = {"format": STORE_FORMAT, "key": self.key, "arrays": entries, "meta": json.loads(meta_text)}
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1))

    def __repr__(self) -> str:
        return f"ArrayStore({str(self.folder)!r}, key={self.key})"


def load_or_build(store: ArrayStore, build: Callable[[], Tuple[Arrays, Dict[str, Any]]],
                  verify: bool = True) -> Tuple[Arrays, Dict[str, Any]]:
    """``store``'s content if valid, else ``build()``'s, saved into ``store`` first (built once across processes)."""
    hit = store.load(verify)
    if hit is not None:
        return hit
    with store.locked():
        hit = store.load(verify, report=False)  # another process may have built it while we waited
        if hit is not None:
            return hit
        arrays, meta = build()
        store.save(arrays, meta)
    return arrays, meta


def flatten(content: Mapping[Any, Any], prefix: str = "") -> Arrays:
    """Nested dicts of arrays (tensors, array-likes; ``None`` skipped) -> ``{"a/b": array}``; tuple keys kept."""
    out: Arrays = {}
    for key, value in content.items():
        part = _TUPLE + "|".join(map(str, key)) if isinstance(key, tuple) else str(key)
        path = f"{prefix}/{part}" if prefix else part
        if isinstance(value, Mapping):
            out.update(flatten(value, path))
        elif value is not None:
            arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            if arr.dtype.hasobject:
                raise TypeError(f"entry {path!r} has dtype object, which cannot be stored without pickle")
            out[path] = arr
    return out


def unflatten(arrays: Mapping[str, np.ndarray]) -> Dict[Any, Any]:
    """The inverse of :func:`flatten` (``ArrayStore`` guarantees the names form a tree)."""
    root: Dict[Any, Any] = {}
    for path, arr in arrays.items():
        parts = [tuple(p[len(_TUPLE):].split("|")) if p.startswith(_TUPLE) else p for p in path.split("/")]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = arr
    return root
