"""A pickle-free processed-data cache, and a packed store of many graphs.

Layout under ``<root>/<name>/processed/``: ``data.npz`` (plain ``numpy.savez``, read back with
``allow_pickle=False``, so loading never runs code) and ``manifest.json`` holding the file's size and sha256,
the ``key`` the data was built from (data-set parameters and format version) and free-form metadata.
The manifest is written last and both files atomically (``os.replace``), so a crash mid-write leaves either
the old cache or none. A missing, truncated, corrupt or out-of-date cache is detected on load and rebuilt.

``pack_graphs``/``PackedGraphs`` store a list of ``Graph`` as a few concatenated arrays plus offsets (as
PyG's ``InMemoryDataset`` does) and rebuild graph ``i`` on demand with zero-copy slices.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from graphkit.graph import GRAPH, NODE_INDEX, Graph, field_kinds

__all__ = ["ProcessedCache", "cached", "pack_graphs", "PackedGraphs", "default_root", "sha256_file", "FORMAT_VERSION"]

FORMAT_VERSION = 1
Arrays = Dict[str, np.ndarray]
log = logging.getLogger(__name__)


def default_root() -> str:
    """``$GRAPHKIT_DATA`` if set, else ``~/.cache/graphkit``."""
    return os.environ.get("GRAPHKIT_DATA") or os.path.join(os.path.expanduser("~"), ".cache", "graphkit")


def sha256_file(path: "str | os.PathLike[str]") -> str:
    """Hex sha256 of a file, read in 4 MiB chunks (every pickle-free cache's integrity check uses it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: str, write: Callable[[Any], None], mode: str = "wb") -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class ProcessedCache:
    """One data set's processed arrays under ``<root>/<name>/processed``, checked against a manifest."""

    DATA = "data.npz"
    MANIFEST = "manifest.json"

    def __init__(self, root: Optional[str], name: str, key: Dict[str, Any]) -> None:
        self.dir = os.path.join(os.fspath(root) if root is not None else default_root(), name, "processed")
        self.key = {"format": FORMAT_VERSION, **key}
        json.dumps(self.key)  # the key must be JSON (it is compared after a round trip)
        self.key = json.loads(json.dumps(self.key))

    @property
    def data_path(self) -> str:
        return os.path.join(self.dir, self.DATA)

    @property
    def manifest_path(self) -> str:
        return os.path.join(self.dir, self.MANIFEST)

    def exists(self) -> bool:
        return os.path.exists(self.manifest_path) and os.path.exists(self.data_path)

    def problem(self) -> Optional[str]:
        """Why the cache cannot be used (``None`` when it is valid)."""
        if not self.exists():
            return "missing"
        try:
            with open(self.manifest_path) as fh:
                manifest = json.load(fh)
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({exc})"
        if manifest.get("key") != self.key:
            return f"built with {manifest.get('key')}, need {self.key}"
        entry = manifest.get("files", {}).get(self.DATA, {})
        size = os.path.getsize(self.data_path)
        if size != entry.get("size"):
            return f"{self.DATA} has {size} bytes, manifest says {entry.get('size')} (truncated?)"
        if sha256_file(self.data_path) != entry.get("sha256"):
            return f"{self.DATA} does not match its sha256 (corrupt)"
        return None

    def load(self) -> Optional[Tuple[Arrays, Dict[str, Any]]]:
        """``(arrays, meta)``, or ``None`` (and a log line saying why) when the cache is not valid."""
        why = self.problem()
        if why is not None:
            if why != "missing":
                log.warning("rebuilding processed cache %s: %s", self.dir, why)
            return None
        try:
            with np.load(self.data_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            with open(self.manifest_path) as fh:
                meta = json.load(fh).get("meta", {})
        except (OSError, ValueError) as exc:
            log.warning("rebuilding processed cache %s: %s", self.dir, exc)
            return None
        return arrays, meta

    def save(self, arrays: Arrays, meta: Optional[Dict[str, Any]] = None) -> None:
        os.makedirs(self.dir, exist_ok=True)
        if os.path.exists(self.manifest_path):
            os.remove(self.manifest_path)  # invalidate first: data and manifest never disagree silently
        for name, value in arrays.items():
            if value.dtype == object:
                raise TypeError(f"array {name!r} has dtype object, which cannot be stored without pickle")
        _atomic_write(self.data_path, lambda fh: np.savez(fh, **arrays))
        manifest = {
            "key": self.key,
            "files": {self.DATA: {"size": os.path.getsize(self.data_path), "sha256": sha256_file(self.data_path)}},
            "meta": meta or {},
        }
        _atomic_write(self.manifest_path, lambda fh: json.dump(manifest, fh, indent=1), mode="w")


def cached(
    root: Optional[str], name: str, key: Dict[str, Any], build: Callable[[], Tuple[Arrays, Dict[str, Any]]]
) -> Tuple[Arrays, Dict[str, Any]]:
    """Load ``<root>/<name>`` if valid, else ``build()`` it, save it, and return it."""
    cache = ProcessedCache(root, name, key)
    hit = cache.load()
    if hit is not None:
        return hit
    arrays, meta = build()
    cache.save(arrays, meta)
    return arrays, meta


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def pack_graphs(graphs: Sequence[Graph], prefix: str = "") -> Tuple[Arrays, Dict[str, Any]]:
    """Concatenate the fields of ``graphs`` (all with the same fields and kinds) into arrays plus offsets."""
    if not graphs:
        raise ValueError("pack_graphs needs at least one graph")
    kinds = field_kinds(graphs[0])
    arrays: Arrays = {
        f"{prefix}num_nodes": np.array([g.num_nodes for g in graphs], dtype=np.int64),
        f"{prefix}num_edges": np.array([g.num_edges for g in graphs], dtype=np.int64),
    }
    has_edges = graphs[0].edge_index is not None
    if has_edges:
        arrays[f"{prefix}edge_index"] = np.concatenate([_np(g.edge_index) for g in graphs], axis=1)
    scalar = []
    for name, kind in kinds.items():
        values = [g[name] for g in graphs]
        if not all(isinstance(v, Tensor) for v in values):
            raise TypeError(f"field {name!r} holds a non-tensor value, which pack_graphs cannot store")
        if kind == NODE_INDEX:
            arrays[f"{prefix}f:{name}"] = np.concatenate([_np(v) for v in values], axis=-1)
            arrays[f"{prefix}n:{name}"] = np.array([v.shape[-1] for v in values], dtype=np.int64)
        elif kind == GRAPH and all(v.dim() == 0 for v in values):
            arrays[f"{prefix}f:{name}"] = np.stack([_np(v) for v in values])
            scalar.append(name)
        else:
            arrays[f"{prefix}f:{name}"] = np.concatenate([_np(v) for v in values], axis=0)
            if kind == GRAPH:
                arrays[f"{prefix}n:{name}"] = np.array([v.shape[0] for v in values], dtype=np.int64)
    return arrays, {"kinds": kinds, "scalar": scalar, "has_edges": has_edges}


def _offsets(counts: np.ndarray) -> List[int]:
    return np.concatenate([[0], np.cumsum(counts)]).tolist()


class PackedGraphs:
    """Graphs stored by :func:`pack_graphs`; ``store[i]`` rebuilds graph ``i`` from views of the arrays."""

    def __init__(self, arrays: Arrays, meta: Dict[str, Any], prefix: str = "") -> None:
        self.kinds: Dict[str, str] = meta["kinds"]
        self.scalar = set(meta["scalar"])
        self.tensors = {k[len(prefix):]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(prefix)}
        self.node_ptr = _offsets(arrays[f"{prefix}num_nodes"])
        self.edge_ptr = _offsets(arrays[f"{prefix}num_edges"])
        self.ptrs = {
            name[2:]: _offsets(arrays[f"{prefix}{name}"]) for name in (k[len(prefix):] for k in arrays)
            if name.startswith("n:")
        }
        self.has_edges = meta["has_edges"]
        # All members back to back (indices stay local to their graph); Graph.select slices one out.
        total = self.node_ptr[-1]
        fields = [(name, kind, self.tensors[f"f:{name}"]) for name, kind in self.kinds.items()]
        self.union = Graph.trusted(None, total, fields)

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    def __getitem__(self, i: int) -> Graph:
        if not -len(self) <= i < len(self):
            raise IndexError(f"graph index {i} is out of range for {len(self)} graphs")
        i %= len(self)
        n0, n1 = self.node_ptr[i], self.node_ptr[i + 1]
        e0, e1 = self.edge_ptr[i], self.edge_ptr[i + 1]

        def graph_part(name: str, data: Tensor) -> Tensor:
            if name in self.scalar:
                return data[i]
            p = self.ptrs[name]
            return data[p[i]: p[i + 1]]

        def index_part(name: str, data: Tensor) -> Tensor:
            p = self.ptrs[name]
            return data[..., p[i]: p[i + 1]]

        g = self.union.select(slice(n0, n1), slice(e0, e1), num_nodes=n1 - n0, edge_index=None, graph=graph_part,
                              node_index=index_part)
        if self.has_edges:
            g.edge_index = self.tensors["edge_index"][:, e0:e1]  # checked: the arrays come from a file
        return g
