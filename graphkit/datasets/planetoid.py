"""Planetoid citation graphs (Cora, CiteSeer, PubMed; Yang et al., 2016) with the public split, read safely.

The raw files ``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}`` are Python 2 pickles of scipy/numpy objects
(plus one text file). They are read by :mod:`graphkit.datasets.safe_pickle`'s allow-list unpickler, so a crafted
file cannot run code; the assembly follows the data set's definition (as PyG's ``Planetoid`` reads it): features
are ``allx`` then ``tx`` with the test rows put at their ``test.index`` positions, labels are the argmax of the
one-hot rows, CiteSeer's isolated test nodes get zero rows, edges come from the adjacency dict without self loops
or duplicates. Public split: the ``len(y)`` first nodes train, the next 500 validate (on a graph too small for that,
the labelled nodes up to the first test node), the ``test.index`` nodes test. ``split="full"`` trains on every other node.

Files are downloaded from the Planetoid repository into ``<root>/<Name>/raw`` (or put there by hand); the
processed graph is a :class:`graphkit.io.ArrayStore` in ``<root>/<Name>/processed``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import numpy as np
import torch

from graphkit.data.cache import cached
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.remote import fetch
from graphkit.datasets.safe_pickle import PLANETOID_TYPES, load_pickle
from graphkit.graph import Graph
from graphkit.io.store import default_root
from graphkit.utils import coalesce, index_to_mask, remove_self_loops

__all__ = ["Planetoid", "read_planetoid", "PLANETOID_NAMES", "PLANETOID_URL"]

PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
NUM_VAL = 500


def _dense(value: Any, path: Path) -> np.ndarray:
    arr = value.toarray() if hasattr(value, "toarray") else np.asarray(value)
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: expected a 2-D numeric matrix, got {arr.dtype} of shape {arr.shape}")
    return arr.astype(np.float32)


def read_planetoid(raw_dir: Union[str, Path], prefix: str) -> Dict[str, np.ndarray]:
    """Assemble ``x``, ``y``, ``edge_index`` and the public split's index arrays from the eight raw files."""
    raw_dir, prefix = Path(raw_dir), prefix.lower()
    path = {p: raw_dir / f"ind.{prefix}.{p}" for p in PARTS}
    x, tx, allx, y, ty, ally = (_dense(load_pickle(path[p], PLANETOID_TYPES), path[p]) for p in PARTS[:6])
    graph = load_pickle(path["graph"], PLANETOID_TYPES)
    if not isinstance(graph, dict):
        raise ValueError(f"{path['graph']}: expected a dict of adjacency lists, got {type(graph).__name__}")
    test_index = np.loadtxt(path["test.index"], dtype=np.int64, ndmin=1)
    sorted_test = np.sort(test_index)
    if prefix == "citeseer":  # isolated test nodes have no row in tx/ty: give them zero rows at their positions
        span = int(test_index.max() - test_index.min()) + 1
        tx_ext, ty_ext = np.zeros((span, tx.shape[1]), np.float32), np.zeros((span, ty.shape[1]), np.float32)
        tx_ext[sorted_test - test_index.min()], ty_ext[sorted_test - test_index.min()] = tx, ty
        tx, ty = tx_ext, ty_ext
    feats, onehot = np.concatenate([allx, tx]), np.concatenate([ally, ty])
    if len(test_index) != len(tx) and prefix != "citeseer":
        raise ValueError(f"{path['test.index']} lists {len(test_index)} nodes but tx has {len(tx)} rows")
    feats[test_index] = feats[sorted_test]
    labels = onehot.argmax(1)
    labels[test_index] = labels[sorted_test]
    n = len(labels)
    rows = [int(k) for k, nbrs in graph.items() for _ in nbrs]
    cols = [int(v) for nbrs in graph.values() for v in nbrs]
    if rows and (max(rows + cols) >= n or min(rows + cols) < 0):
        raise ValueError(f"{path['graph']}: node ids must lie in [0, {n}), got {min(rows + cols)}..{max(rows + cols)}")
    ei = torch.tensor([rows, cols], dtype=torch.long).view(2, -1)
    ei = coalesce(remove_self_loops(ei)[0], num_nodes=n, sort_by_row=False)
    num_train = len(y)
    return {"x": feats, "y": labels.astype(np.int64), "edge_index": ei.numpy(),
            "train": np.arange(num_train), "valid": np.arange(num_train, min(num_train + NUM_VAL, len(ally))),
            "test": test_index}


class Planetoid(GraphDataset):
    """One citation graph with node features, 7 / 6 / 3 classes and the public split (``len(ds) == 1``).

    Args:
        root: data folder (``$GRAPHKIT_DATA`` or ``~/.cache/graphkit`` by default); files in ``<root>/<Name>/raw``.
        name: ``"Cora"``, ``"CiteSeer"`` or ``"PubMed"`` (any case); another name loads raw files already present.
        split: ``"public"`` or ``"full"`` (train on every node outside validation and test).
        transform: applied to the graph on every access (e.g. ``graphkit.transforms.NormalizeFeatures()``).
        pre_transform: applied once, on the first access (see :mod:`graphkit.datasets.base`).
        download: fetch missing raw files; ``False`` raises :class:`DataNotFoundError` naming the files instead.

    The graph has ``x``, ``y``, ``edge_index`` and boolean ``train_mask``, ``val_mask``, ``test_mask``; ``split``
    holds the same node sets as index tensors (``train``, ``valid``, ``test``).
    """

    task, kind = "node", "citation"

    def __init__(self, root: Optional[str] = None, name: str = "Cora", split: str = "public",
                 transform: Optional[Callable[[Graph], Graph]] = None, download: bool = True,
                 pre_transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        if split not in ("public", "full"):
            raise ValueError(f"split must be 'public' or 'full', got {split!r}")
        key = name.lower()
        self.name = PLANETOID_NAMES.get(key, name)
        self.set_transforms(transform, pre_transform)
        folder = Path(root if root is not None else default_root()) / self.name
        raw_dir = folder / "raw"
        if key not in PLANETOID_NAMES and not all((raw_dir / f"ind.{key}.{p}").is_file() for p in PARTS):
            raise DataNotFoundError(f"Planetoid name must be one of {sorted(PLANETOID_NAMES.values())} (or its raw "
                                    f"files must be in {raw_dir}), got {name!r}")

        def build() -> tuple:
            note = f" (and likewise ind.{key}.{{{','.join(PARTS)}}} from {PLANETOID_URL}/)"
            for p in PARTS:
                fetch(f"{PLANETOID_URL}/ind.{key}.{p}", raw_dir / f"ind.{key}.{p}", f"Planetoid {self.name}", download,
                      note=note)
            return read_planetoid(raw_dir, key), {}

        arrays, _ = cached(root, self.name, {"planetoid": key, "format": 1}, build)
        t = {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}
        n = t["y"].numel()
        if split == "full":
            t["train"] = (~index_to_mask(torch.cat([t["valid"], t["test"]]), size=n)).nonzero().view(-1)
        self.split = {k: t[k] for k in ("train", "valid", "test")}
        self.num_classes = int(t["y"].max()) + 1
        self._graph = Graph(x=t["x"], edge_index=t["edge_index"], y=t["y"], kinds={"y": "node"},
                            train_mask=index_to_mask(t["train"], size=n), val_mask=index_to_mask(t["valid"], size=n),
                            test_mask=index_to_mask(t["test"], size=n))

    def __len__(self) -> int:
        return 1

    def get(self, i: int) -> Graph:
        return self._graph

    def __repr__(self) -> str:
        g = self._graph
        return f"{self.name}(nodes={g.num_nodes}, edges={g.num_edges}, classes={self.num_classes})"
