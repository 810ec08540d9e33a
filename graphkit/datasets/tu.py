"""TUDataset: the graph-kernel benchmark collection (Morris et al., 2020) in its text format.

A data set ``NAME`` is a folder of comma-separated text files ``NAME_<part>.txt``: ``A`` (one 1-based
``row, col`` edge per line, over all graphs), ``graph_indicator`` (the 1-based graph of each node), and optionally
``node_labels``, ``node_attributes``, ``edge_labels``, ``edge_attributes``, ``graph_labels`` (classification) or
``graph_attributes`` (regression). As PyG reads them: node features are the float attributes followed by the
one-hot label columns (``use_node_attr=False`` keeps only the labels), the same for edges; graph labels are
renumbered ``0..C-1`` in sorted order; self loops are dropped and duplicate edges merged (sorted by source).

``TUDataset(root, "MUTAG")`` downloads ``NAME.zip`` from the TU collection into ``<root>/<NAME>/raw`` (or uses
files put there by hand); the processed graphs are a :class:`graphkit.io.ArrayStore` in ``<root>/<NAME>/processed``.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from graphkit.data.cache import PackedGraphs, cached, pack_graphs
from graphkit.data.splits import random_split
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.remote import extract_zip, fetch
from graphkit.graph import Graph
from graphkit.io.store import default_root
from graphkit.utils import coalesce, remove_self_loops

__all__ = ["TUDataset", "read_tu", "TU_URL"]

TU_URL = "https://www.chrsmrrs.com/graphkerneldatasets"


def _read(raw: Path, name: str, part: str, dtype: type) -> Optional[np.ndarray]:
    path = raw / f"{name}_{part}.txt"
    if not path.is_file():
        return None
    try:
        arr = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a comma-separated table of {np.dtype(dtype).name} ({exc})") from None
    return arr


def _one_hot_columns(labels: np.ndarray) -> np.ndarray:
    labels = labels - labels.min(0)
    return np.concatenate([np.eye(int(col.max()) + 1, dtype=np.float32)[col] for col in labels.T], axis=1)


def read_tu(raw: Path, name: str) -> List[Graph]:
    """The graphs of one TU data set from the text files in ``raw``."""
    a, ind = _read(raw, name, "A", np.int64), _read(raw, name, "graph_indicator", np.int64)
    if a is None or ind is None:
        raise DataNotFoundError(f"TUDataset {name}: {raw / (name + '_A.txt')} and _graph_indicator.txt are needed")
    batch = ind[:, 0] - 1
    n, ei = len(batch), torch.from_numpy(a.T - 1).contiguous()
    if a.shape[1] != 2 or (ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n)):
        raise ValueError(f"{raw / (name + '_A.txt')}: every line must be 'row, col' with 1 <= id <= {n}")
    e = ei.size(1)

    def features(prefix: str, count: int) -> Optional[np.ndarray]:
        cols = []
        attr, lab = _read(raw, name, f"{prefix}_attributes", np.float32), _read(raw, name, f"{prefix}_labels", np.int64)
        for arr, what in ((attr, "attributes"), (lab, "labels")):
            if arr is not None and len(arr) != count:
                raise ValueError(f"{name}_{prefix}_{what}.txt has {len(arr)} rows, expected {count}")
        if attr is not None:
            cols.append(attr)
        if lab is not None:
            cols.append(_one_hot_columns(lab))
        return np.concatenate(cols, axis=1) if cols else None

    x, edge_attr = features("node", n), features("edge", e)
    y_attr, y_lab = _read(raw, name, "graph_attributes", np.float32), _read(raw, name, "graph_labels", np.int64)
    if y_attr is not None:
        y = torch.from_numpy(y_attr)
    elif y_lab is not None:
        y = torch.from_numpy(np.unique(y_lab[:, 0], return_inverse=True)[1].reshape(-1, 1))
    else:
        y = None
    ea = None if edge_attr is None else torch.from_numpy(edge_attr)
    ei, ea = remove_self_loops(ei, ea)
    if ea is None:
        ei = coalesce(ei, num_nodes=n)
    else:
        ei, ea = coalesce(ei, ea, num_nodes=n)
    gid = torch.from_numpy(batch)
    num_graphs = int(gid.max()) + 1 if n else 0
    if y is not None and y.size(0) != num_graphs:
        raise ValueError(f"{name}: {y.size(0)} graph labels for {num_graphs} graphs")
    counts = torch.bincount(gid, minlength=num_graphs)
    node_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    edge_graph = gid[ei[0]]
    edge_counts = torch.bincount(edge_graph, minlength=num_graphs)
    order = torch.sort(edge_graph, stable=True).indices  # coalesce sorted by source, so this keeps it
    ei = ei[:, order]
    ea = None if ea is None else ea[order]
    edge_ptr = torch.cat([edge_counts.new_zeros(1), edge_counts.cumsum(0)]).tolist()
    xt = None if x is None else torch.from_numpy(x)
    graphs = []
    for i in range(num_graphs):
        n0, n1, e0, e1 = int(node_ptr[i]), int(node_ptr[i + 1]), edge_ptr[i], edge_ptr[i + 1]
        fields: Dict[str, Tensor] = {}
        if xt is not None:
            fields["x"] = xt[n0:n1]
        if ea is not None:
            fields["edge_attr"] = ea[e0:e1]
        g = Graph(edge_index=ei[:, e0:e1] - n0, num_nodes=n1 - n0, **fields)
        if y is not None:
            g.set("y", y[i] if y.size(1) == 1 else y[i:i + 1], "graph")  # PyG's shapes: [1] or [1, k]
        graphs.append(g)
    return graphs


class TUDataset(GraphDataset):
    """A TU graph-kernel data set (``MUTAG``, ``PROTEINS``, ``IMDB-BINARY``, ``ZINC_full``, ...).

    Args:
        root: data folder (``$GRAPHKIT_DATA`` or ``~/.cache/graphkit``); raw files in ``<root>/<name>/raw``.
        name: the data set's name in the TU collection (also the file prefix).
        transform: applied to each graph on access. pre_transform: applied once per graph (first access).
        use_node_attr, use_edge_attr: keep the float attribute columns (PyG's defaults: ``False``).
        download: fetch ``<name>.zip`` when the files are missing; ``False`` raises :class:`DataNotFoundError`.
        seed: seed of the random 80 / 10 / 10 ``split`` (TU sets have no official split).
    """

    def __init__(self, root: Optional[str] = None, name: str = "MUTAG",
                 transform: Optional[Callable[[Graph], Graph]] = None, use_node_attr: bool = False,
                 use_edge_attr: bool = False, download: bool = True, seed: int = 0,
                 pre_transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        self.name = name
        self.set_transforms(transform, pre_transform)
        raw = Path(root if root is not None else default_root()) / name / "raw"

        def build() -> tuple:
            if not (raw / f"{name}_A.txt").is_file():
                archive = fetch(f"{TU_URL}/{name}.zip", raw / f"{name}.zip", f"TUDataset {name}", download)
                extract_zip(archive, raw.parent, f"TUDataset {name}")
                extracted = raw.parent / name  # the zip holds NAME/NAME_*.txt
                for path in extracted.glob(f"{name}_*.txt"):
                    path.replace(raw / path.name)
                shutil.rmtree(extracted, ignore_errors=True)
                archive.unlink()
            graphs = read_tu(raw, name)
            arrays, meta = pack_graphs(graphs, prefix="g:")
            attrs = {p: (_read(raw, name, f"{p}_attributes", np.float32) if (raw / f"{name}_{p}_attributes.txt")
                         .is_file() else None) for p in ("node", "edge")}
            meta["num_attributes"] = {p: 0 if a is None else int(a.shape[1]) for p, a in attrs.items()}
            meta["regression"] = (raw / f"{name}_graph_attributes.txt").is_file()
            return arrays, meta

        arrays, meta = cached(root, name, {"tu": name, "format": 1}, build)
        self.store = PackedGraphs(arrays, meta, prefix="g:")
        self._drop = {"x": 0 if use_node_attr else meta["num_attributes"]["node"],
                      "edge_attr": 0 if use_edge_attr else meta["num_attributes"]["edge"]}
        if meta["regression"]:
            self.task_type, self.eval_metric, self.num_classes = "regression", "mae", None
            self.num_tasks = int(self.store.tensors["f:y"].shape[-1])
        elif "f:y" in self.store.tensors:
            self.num_classes = int(self.store.tensors["f:y"].max()) + 1
        self.split = random_split(len(self.store), (0.8, 0.1, 0.1), seed)

    def __len__(self) -> int:
        return len(self.store)

    def get(self, i: int) -> Graph:
        g = self.store[i]
        for field, drop in self._drop.items():
            value = getattr(g, field)
            if drop and value is not None:
                g.set(field, value[:, drop:])
        return g
