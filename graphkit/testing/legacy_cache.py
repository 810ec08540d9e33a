"""Caches exactly as graphkit 0.1 wrote them, for tests that check they are detected and rebuilt, never misread.

graphkit 0.1 had two stores: ``data.cache.ProcessedCache`` (``data.npz`` plus a manifest whose ``key`` held
``"format": 1``) and ``datasets.array_cache`` (the OGB cache: ``NNNN.npy`` files plus ``{"format": 1, "arrays":
...}``). These writers reproduce their bytes (same numpy calls, same JSON), so a test can put one where the
current :class:`graphkit.io.ArrayStore` looks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np

from graphkit.io.store import sha256_file

__all__ = ["write_v1_processed_cache", "write_v1_array_cache"]


def write_v1_processed_cache(folder: Path, key: Dict[str, Any], arrays: Dict[str, np.ndarray],
                             meta: Dict[str, Any]) -> None:
    """graphkit 0.1's ``ProcessedCache(root, name, key).save(arrays, meta)`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "data.npz", "wb") as fh:
        np.savez(fh, **arrays)
    data = folder / "data.npz"
    manifest = {"key": {"format": 1, **key}, "files": {"data.npz": {"size": data.stat().st_size,
                                                                      "sha256": sha256_file(data)}}, "meta": meta}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def write_v1_array_cache(folder: Path, flat: Dict[str, np.ndarray]) -> None:
    """graphkit 0.1's ``array_cache.write_cache(folder, content)`` for already flattened ``content``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for i, (key, arr) in enumerate(sorted(flat.items())):
        fname = f"{i:04d}.npy"
        np.save(folder / fname, np.ascontiguousarray(arr), allow_pickle=False)
        entries[key] = {"file": fname, "bytes": (folder / fname).stat().st_size, "sha256": sha256_file(folder / fname)}
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "arrays": entries}, indent=1))
