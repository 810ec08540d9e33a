"""Open Graph Benchmark data sets without ogb's pickle cache.

``load_ogb(name, root)`` serves every ``ogbn-``, ``ogbl-`` and ``ogbg-`` data set in ogb's ``master.csv`` (and any
name registered with :func:`register_meta`, or a folder in OGB format):

1. *Download*: ogb's own URL and zip layout (``root/<download_name>/`` moved to ``root/ogbn_arxiv/``). Without
   network, :class:`OGBDownloadError` names the URL and the folder to unzip it into.
2. *Parse*: ogb's raw readers (``ogb.io.read_graph_raw``); split files that ogb saved with ``torch.save`` are read
   with ``weights_only=True`` and a numpy-only allow-list, never with a full unpickler.
3. *Cache*: ``<dir>/processed/graphkit/``, a :class:`graphkit.io.ArrayStore` (one ``.npy`` per array, loaded with
   ``allow_pickle=False``, and a manifest with each file's size and sha256). ogb's own ``torch.load`` cache fails
   on torch >= 2.6; ours is pickle-free, and a truncated, altered or old-format cache is rebuilt from the raw files.

One module per step: :mod:`~graphkit.datasets.ogb_meta` (names, master.csv, folders),
:mod:`~graphkit.datasets.ogb_download` (1), :mod:`~graphkit.datasets.ogb_raw` (2),
:mod:`~graphkit.datasets.ogb_evaluator` (ogb's ``Evaluator``); this one caches (3) and builds the result.

Names and folders from a master.csv or meta.json are confined: a data-set name and its ``download_name`` must be
plain folder names (letters, digits, ``_``, ``-``, ``.``), so a crafted description cannot reach outside ``root``.
The bundled fixtures (``ogbn-drosophila``, ``ogbl-connectome``, ``ogbg-freesolv``, ``ogbg-b3db``) load by name;
see :mod:`graphkit.datasets.fixtures`.

The result has ``graph`` (node and link sets) or ``graphs`` (graph sets), ``split``, ``evaluator`` (the official
ogb ``Evaluator``), ``num_classes`` or ``num_tasks``, ``eval_metric`` and ``task_type``. Heterogeneous sets
(ogbn-mag, ogbl-biokg) come as a :class:`~graphkit.hetero.HeteroGraph` read by ogb's heterogeneous raw readers
(labels as ``y`` of their type), and so do knowledge graphs stored homogeneously with ``edge_reltype``
(ogbl-wikikg2: one ``entity`` type, one edge type per relation id).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from graphkit.datasets.ogb_download import OGBDownloadError, adopt_unzipped, download_hint, fetch, has_raw
from graphkit.datasets.ogb_evaluator import official_evaluator
from graphkit.datasets.ogb_meta import (add_master, dataset_dir, folder_meta, is_registered, meta_info, meta_int,
                                        ogb_names, official_metas, registered_root)
from graphkit.datasets.ogb_raw import RawDataError, parse_raw
from graphkit.graph import EDGE, GRAPH, NODE, Graph
from graphkit.hetero import HeteroGraph
from graphkit.io.store import ArrayStore, default_root, flatten, load_or_build, unflatten
from graphkit.transforms.base import Transform, apply_transform, check_transform

__all__ = ["load_ogb", "OGBDataset", "OGBDownloadError", "register_meta", "ogb_names", "meta_info",
           "default_root", "dataset_dir", "is_cached", "official_evaluator", "registered_root", "RawDataError"]


def register_meta(path: Union[str, Path]) -> List[str]:
    """Register the data sets of a master.csv-style file; a relative ``url`` is taken from the file's folder."""
    names = add_master(path)
    _register_names(names)
    return names


def _register_names(names: List[str]) -> None:
    """Make OGB names loadable through ``graphkit.datasets.registry`` as well (``graphkit datasets`` lists them)."""
    from graphkit.datasets import registry  # here: graphkit.datasets/__init__ imports this module first
    for name in names:
        def loader(root: Optional[str] = None, _name: str = name, **kwargs: Any) -> "OGBDataset":
            return load_ogb(_name, root, **kwargs)

        def on_disk(root: Optional[str] = None, _name: str = name) -> bool:
            return is_cached(_name, root) or has_raw(dataset_dir(_name, root), meta_info(_name))

        where = "fixture" if is_registered(name) else "OGB"
        registry.register(name, loader, name.split("-")[0], on_disk, f"{where} {meta_info(name).get('task type', '')}",
                          overwrite=True)


def _store(folder: Path, name: str) -> ArrayStore:
    return ArrayStore(folder / "processed" / "graphkit", key={"ogb": name})


def is_cached(name: str, root: Union[str, Path, None] = None) -> bool:
    return _store(dataset_dir(name, root), name).exists()


# ----------------------------------------------------------------------------------------------------- result
def _tensors(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _tensors(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
        return torch.from_numpy(obj.copy()) if obj.ndim else obj.item()
    return obj


def _graph_list(g: Dict[str, Any], labels: Optional[Any], per_graph: bool) -> List[Graph]:
    n_nodes, n_edges = g["num_nodes"].tolist(), g["num_edges"].tolist()
    node_off, edge_off = np.cumsum([0] + n_nodes).tolist(), np.cumsum([0] + n_edges).tolist()
    fields = [("x" if k == "node_feat" else k, NODE, torch.from_numpy(g[k])) for k in g if k.startswith("node_")]
    fields += [("edge_attr" if k == "edge_feat" else k, EDGE, torch.from_numpy(g[k]))
               for k in g if k.startswith("edge_") and k != "edge_index"]
    label = torch.from_numpy(labels) if labels is not None and labels.dtype.kind in "biuf" else None
    if label is not None and not per_graph:
        fields.append(("y", NODE, label))
    # All graphs back to back; Graph.select (the one slicing rule) cuts each out as views.
    union = Graph.trusted(None, node_off[-1], fields)
    edge_index = torch.from_numpy(g["edge_index"])
    out = []
    for i, n in enumerate(n_nodes):
        part = union.select(slice(node_off[i], node_off[i + 1]), slice(edge_off[i], edge_off[i + 1]), num_nodes=n,
                            edge_index=None)
        part.edge_index = edge_index[:, edge_off[i]:edge_off[i + 1]]  # checked: the arrays come from files
        if label is not None and per_graph:
            part.set("y", label[i:i + 1], GRAPH)
        out.append(part)
    return out


def _hetero_graph(d: Dict[str, Any], labels: Optional[Dict[str, Any]]) -> HeteroGraph:
    """ogb's heterograph dict (``num_nodes_dict``, ``edge_index_dict``, ``node_feat_dict``, ``node_<name>``,
    ``edge_feat_dict``, ``edge_<name>``) as a checked ``HeteroGraph``: ``node_feat_dict`` -> ``x``,
    ``edge_feat_dict`` -> ``edge_attr``, ``node_year`` -> ``year``, ``edge_reltype`` -> ``reltype``; ``labels``
    (``{type: [N, 1]}``) -> ``y``. Types in ogb's order (sorted by name)."""
    h = HeteroGraph()
    for nt in sorted(d["num_nodes_dict"]):
        h.node_store(nt).num_nodes = int(d["num_nodes_dict"][nt])
    for et in sorted(d["edge_index_dict"]):
        h.edge_store(tuple(et)).set("edge_index", d["edge_index_dict"][et])
    for key, per_type in d.items():
        if key in ("num_nodes_dict", "edge_index_dict", "num_edges_dict") or not isinstance(per_type, dict):
            continue
        if key.startswith("node_"):
            name = "x" if key == "node_feat_dict" else key[len("node_"):]
            for nt, value in per_type.items():
                h.node_store(nt).set(name, value)
        elif key.startswith("edge_"):
            name = "edge_attr" if key == "edge_feat_dict" else key[len("edge_"):]
            for et, value in per_type.items():
                h.edge_store(tuple(et)).set(name, value)
    for nt, value in (labels or {}).items():
        h.node_store(nt).set("y", value)
    return h.validate()


def _kg_graph(g: Graph) -> HeteroGraph:
    """A homogeneous knowledge graph with ``edge_reltype`` as a ``HeteroGraph``: node type ``entity``, edge type
    ``("entity", str(r), "entity")`` per relation id ``r`` in id order, edges in their file order within each."""
    reltype = g["edge_reltype"].view(-1)
    h = HeteroGraph()
    h.node_store("entity").num_nodes = g.num_nodes
    for name, kind, value in g.items():
        if kind == NODE:
            h.node_store("entity").set(name, value)
    ei = g.edge_index_or_empty()
    for r in torch.unique(reltype).tolist():
        idx = (reltype == r).nonzero().view(-1)
        store = h.edge_store(("entity", str(r), "entity"))
        store.set("edge_index", ei[:, idx])
        for name, kind, value in g.items():
            if kind == EDGE:
                store.set("reltype" if name == "edge_reltype" else name, value[idx])
    return h


@dataclass
class OGBDataset:
    """A loaded OGB data set. ``graph`` for node/link sets, ``graphs`` for graph sets; ``split`` holds tensors.

    ``ds[i]`` and ``len(ds)`` index it as PyG's OGB data sets do (the one graph of a node/link set, or graph
    ``i``), applying ``transform`` on every access; ``graph`` / ``graphs`` hold the stored graphs (after any
    ``pre_transform`` given to :func:`load_ogb`).
    """

    name: str
    meta: Dict[str, str]
    path: Path
    split: Dict[str, Any]
    evaluator: Any
    eval_metric: str
    task_type: str
    graph: Any = None
    graphs: Optional[List[Graph]] = None
    labels: Any = None
    num_classes: Optional[int] = None
    num_tasks: Optional[int] = None
    extras: Dict[str, Any] = field(default_factory=dict)
    transform: Optional[Transform] = None

    def __len__(self) -> int:
        return len(self.graphs) if self.graphs is not None else 1

    def __getitem__(self, i: int) -> Graph:
        if isinstance(self.graph, dict):
            raise TypeError(f"{self.name} is heterogeneous (ogb's dict of tensors): read ds.graph")
        stored = self.graphs if self.graphs is not None else [self.graph]
        if not isinstance(i, int) or not -len(stored) <= i < len(stored):
            raise IndexError(f"index {i!r} is out of range for {self.name} with {len(stored)} graph(s)")
        return apply_transform(self.transform, stored[i])

    @property
    def kind(self) -> str:
        return self.name.split("-")[0]

    def __repr__(self) -> str:
        what = f"graphs={len(self.graphs)}" if self.graphs is not None else f"graph={self.graph!r}"
        return (f"OGBDataset({self.name}, {what}, eval_metric={self.eval_metric!r}, "
                f"num_classes={self.num_classes}, num_tasks={self.num_tasks})")


def load_ogb(name: Union[str, Path], root: Union[str, Path, None] = None, *, download: bool = True,
             verify: bool = True, transform: Optional[Transform] = None,
             pre_transform: Optional[Transform] = None) -> OGBDataset:
    """Load an OGB data set by name (downloading it into ``root`` when needed) or from a folder in OGB format.

    Args:
        name: ``"ogbn-arxiv"``, a name registered with :func:`register_meta`, or a path to an OGB-format folder.
        root: folder holding ``<root>/ogbn_arxiv/``; defaults to ``$GRAPHKIT_DATA`` or ``~/.cache/graphkit`` (a
            registered set's default is the folder of its master.csv).
        download: fetch missing raw files from ogb's URL; ``False`` raises :class:`OGBDownloadError` instead.
        verify: check every cached file's sha256 (sizes are always checked).
        transform: applied on every ``ds[i]`` (PyG's semantics); ``ds.graph`` / ``ds.graphs`` stay as stored.
        pre_transform: applied once to each graph as it is loaded (not to a heterogeneous set's dict).
    """
    transform = check_transform(transform, "transform")
    pre_transform = check_transform(pre_transform, "pre_transform")
    if os.path.isdir(str(name)) and (Path(name) / "raw").is_dir():
        folder = Path(name).resolve()
        name, meta = folder_meta(folder)
        root = folder.parent
    else:
        name = str(name)
        meta = meta_info(name)
        folder = dataset_dir(name, root)
        root = folder.parent
    kind = name.split("-")[0]
    num_tasks = meta_int(meta, "num tasks")
    store = _store(folder, name)

    def raw_ready() -> bool:
        adopt_unzipped(meta, Path(root), folder)
        if not has_raw(folder, meta) and not download:
            raise OGBDownloadError(f"{name} is not in {folder}; {download_hint(meta, Path(root))}")
        return has_raw(folder, meta)

    def build() -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
        if not raw_ready():
            Path(root).mkdir(parents=True, exist_ok=True)
            fetch(name, meta, Path(root), folder)
        return flatten(parse_raw(name, folder, meta)), {}

    if not store.exists():
        raw_ready()  # a missing data set fails here, before the build lock creates any folder
    content = unflatten(load_or_build(store, build, verify)[0])
    labels = content.get("labels")
    split = _tensors(content["split"])
    split = {**{k: split[k] for k in ("train", "valid", "test") if k in split}, **split}  # ogb's order
    ds = OGBDataset(name=name, meta=meta, path=folder, split=split,
                    evaluator=official_evaluator(kind, meta["eval metric"], num_tasks, name),
                    eval_metric=meta["eval metric"],
                    task_type=meta.get("task type", ""), labels=_tensors(labels))
    if "hetero" in content:
        ds.graph = _hetero_graph(_tensors(content["hetero"]), ds.labels if kind == "ogbn" else None)
    elif kind == "ogbg":
        ds.graphs = _graph_list(content["graphs"], labels, per_graph=True)
    else:
        ds.graph = _graph_list(content["graphs"], labels if kind == "ogbn" else None, per_graph=False)[0]
        if ds.task_type == "KG completion":  # ogbl-wikikg2: one entity type, one edge type per relation id
            ds.graph = _kg_graph(ds.graph)
    if pre_transform is not None and ds.graphs is not None:
        ds.graphs = [pre_transform(g) for g in ds.graphs]
    elif pre_transform is not None and isinstance(ds.graph, Graph):
        ds.graph = pre_transform(ds.graph)
    ds.transform = transform
    ds.num_tasks = num_tasks
    if (meta_int(meta, "num classes") or -1) > 0:
        ds.num_classes = meta_int(meta, "num classes")
    return ds


_register_names(sorted(official_metas()))
