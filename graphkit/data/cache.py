"""The processed-data cache of graphkit's data sets, and a packed store of many graphs.

``ProcessedCache(root, name, key)`` is the :class:`graphkit.io.ArrayStore` at ``<root>/<name>/processed``
(``root`` defaults to ``$GRAPHKIT_DATA`` or ``~/.cache/graphkit``): pickle-free ``.npy`` arrays, a manifest with
each file's size and sha256, the ``key`` the data was built from, and free-form metadata. ``cached(root, name,
key, build)`` loads it or builds and saves it; a missing, truncated, corrupt, out-of-date or old-format cache is
rebuilt (see ``graphkit.io.store``).

``pack_graphs``/``PackedGraphs`` store a list of ``Graph`` as a few concatenated arrays plus offsets (as
PyG's ``InMemoryDataset`` does) and rebuild graph ``i`` on demand with zero-copy slices.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from graphkit.graph import GRAPH, NODE_INDEX, Graph, field_kinds
from graphkit.io.store import ArrayStore, default_root, load_or_build, sha256_file

__all__ = ["ProcessedCache", "cached", "pack_graphs", "PackedGraphs", "default_root", "sha256_file"]

Arrays = Dict[str, np.ndarray]


class ProcessedCache(ArrayStore):
    """One data set's processed arrays: the :class:`~graphkit.io.ArrayStore` at ``<root>/<name>/processed``."""

    def __init__(self, root: Union[str, Path, None], name: str, key: Dict[str, Any]) -> None:
        super().__init__(Path(root if root is not None else default_root()) / name / "processed", key)


def cached(
    root: Union[str, Path, None], name: str, key: Dict[str, Any], build: Callable[[], Tuple[Arrays, Dict[str, Any]]]
) -> Tuple[Arrays, Dict[str, Any]]:
    """Load ``<root>/<name>`` if valid, else ``build()`` it, save it, and return it."""
    return load_or_build(ProcessedCache(root, name, key), build)


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
