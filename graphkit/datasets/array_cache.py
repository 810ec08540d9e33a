"""A pickle-free array cache: nested dicts of numpy arrays as ``.npy`` files plus a checked manifest.

``write_cache(folder, content)`` stores every array of ``content`` (dicts nest; tuple keys, as in ogb's
heterographs, are kept) as one ``.npy`` file and writes ``manifest.json`` (each file's size and sha256) *last*,
so a cache without a manifest is never trusted. ``read_cache`` returns None, with a note on stderr, when the
cache is absent, truncated or altered; the caller rebuilds it. Loading uses ``allow_pickle=False`` throughout.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "c"
>>> write_cache(d, {"a": np.arange(3), "b": {("x", "y"): np.ones(2)}})
>>> sorted(read_cache(d)["b"])
[('x', 'y')]
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

from graphkit.data.cache import sha256_file

__all__ = ["write_cache", "read_cache", "CACHE_FORMAT"]

CACHE_FORMAT = 1

_TUPLE = "T:"  # marks a tuple key, e.g. ('paper', 'cites', 'paper') of a heterograph


def _flatten(obj: Any, prefix: str, out: Dict[str, np.ndarray]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = _TUPLE + "|".join(k) if isinstance(k, tuple) else str(k)
            _flatten(v, f"{prefix}/{key}" if prefix else key, out)
    elif obj is not None:
        arr = obj.numpy() if isinstance(obj, torch.Tensor) else np.asarray(obj)
        if arr.dtype == object:
            raise ValueError(f"cache entry {prefix!r} has dtype object, which cannot be stored without pickle")
        out[prefix] = arr


def _unflatten(flat: Dict[str, np.ndarray]) -> Dict[str, Any]:
    root: Dict[Any, Any] = {}
    for path, arr in flat.items():
        node = root
        parts = [tuple(p[len(_TUPLE):].split("|")) if p.startswith(_TUPLE) else p for p in path.split("/")]
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = arr
    return root


def write_cache(cache: Path, content: Dict[str, Any]) -> None:
    flat: Dict[str, np.ndarray] = {}
    _flatten(content, "", flat)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    entries = {}
    for i, (key, arr) in enumerate(sorted(flat.items())):
        fname = f"{i:04d}.npy"
        np.save(cache / fname, np.ascontiguousarray(arr), allow_pickle=False)
        entries[key] = {"file": fname, "bytes": (cache / fname).stat().st_size, "sha256": sha256_file(cache / fname)}
    tmp = cache / "manifest.json.tmp"
    tmp.write_text(json.dumps({"format": CACHE_FORMAT, "arrays": entries}, indent=1))
    os.replace(tmp, cache / "manifest.json")  # written last: a cache without its manifest is never trusted


def read_cache(cache: Path, verify: bool = True) -> Optional[Dict[str, Any]]:
    """The cached content, or None (with a note on stderr) when it is absent, truncated or altered."""
    manifest = cache / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        entries = json.loads(manifest.read_text())["arrays"]
        flat = {}
        for key, e in entries.items():
            path = cache / e["file"]
            if path.stat().st_size != e["bytes"] or (verify and sha256_file(path) != e["sha256"]):
                raise ValueError(f"{path} does not match its manifest entry")
            flat[key] = np.load(path, allow_pickle=False)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        print(f"graphkit: cache {cache} is damaged ({exc}); rebuilding it from the raw files", file=sys.stderr)
        return None
    return _unflatten(flat)
