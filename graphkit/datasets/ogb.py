"""Open Graph Benchmark data sets without ogb's pickle cache.

``load_ogb(name, root)`` serves every ``ogbn-``, ``ogbl-`` and ``ogbg-`` data set in ogb's ``master.csv`` (and any
name registered with :func:`register_meta`, or a folder in OGB format):

1. *Download*: ogb's own URL and zip layout (``root/<download_name>/`` moved to ``root/ogbn_arxiv/``). Without
   network, :class:`OGBDownloadError` names the URL and the folder to unzip it into.
2. *Parse*: ogb's raw readers (``ogb.io.read_graph_raw``); split files that ogb saved with ``torch.save`` are read
   with ``weights_only=True`` and a numpy-only allow-list, never with a full unpickler.
3. *Cache*: ``<dir>/processed/graphkit/``: one ``.npy`` per array (loaded with ``allow_pickle=False``) and a
   ``manifest.json`` with each file's size and sha256, written last. ogb's own ``torch.load`` cache fails on
   torch >= 2.6; ours is pickle-free, and a truncated or altered file makes it rebuild from the raw files.

The result has ``graph`` (node and link sets) or ``graphs`` (graph sets), ``split``, ``evaluator`` (the official
ogb ``Evaluator``), ``num_classes`` or ``num_tasks``, ``eval_metric`` and ``task_type``. Heterogeneous sets
(ogbn-mag, ogbl-biokg, ogbl-wikikg2) keep ogb's dict-of-tensors graph, since ``Graph`` is homogeneous.
"""
from __future__ import annotations

import contextlib
import functools
import csv
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch

from graphkit.datasets.array_cache import read_cache, write_cache
from graphkit.graph import EDGE, GRAPH, NODE, Graph

__all__ = ["load_ogb", "OGBDataset", "OGBDownloadError", "register_meta", "ogb_names", "meta_info",
           "default_root", "dataset_dir", "is_cached", "official_evaluator", "registered_root"]

PREFIXES = {"ogbn": "nodeproppred", "ogbl": "linkproppred", "ogbg": "graphproppred"}
_REGISTERED: Dict[str, Dict[str, str]] = {}
_REGISTERED_ROOT: Dict[str, Path] = {}  # a registered set's default root: the folder of its master.csv


class OGBDownloadError(RuntimeError):
    """The raw files are missing and could not be downloaded; the message says what to fetch and where."""


# ----------------------------------------------------------------------------------------------------- metadata
def _read_master(path: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """ogb's master.csv is transposed: one column per data set, one row per property."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names = rows[0][1:]
    return {n: {r[0]: r[i + 1] for r in rows[1:] if len(r) > i + 1} for i, n in enumerate(names)}


@functools.lru_cache(maxsize=None)
def _official() -> Dict[str, Dict[str, str]]:
    import importlib.util

    spec = importlib.util.find_spec("ogb")
    if spec is None or not spec.submodule_search_locations:
        return {}
    base = Path(spec.submodule_search_locations[0])
    out: Dict[str, Dict[str, str]] = {}
    for sub in PREFIXES.values():
        out.update(_read_master(base / sub / "master.csv"))
    return out


def register_meta(path: Union[str, Path]) -> List[str]:
    """Register the data sets of a master.csv-style file; a relative ``url`` is taken from the file's folder."""
    path = Path(path).resolve()
    metas = _read_master(path)
    for name, meta in metas.items():
        if name.split("-")[0] not in PREFIXES:
            raise ValueError(f"data set name {name!r} in {path} must start with ogbn-, ogbl- or ogbg-")
        url = meta.get("url", "")
        if url and "://" not in url:
            meta["url"] = (path.parent / url).as_uri()
        _REGISTERED[name] = meta
        _REGISTERED_ROOT[name] = path.parent
    _register_names(list(metas))
    return list(metas)


def _register_names(names: List[str]) -> None:
    """Make OGB names loadable through ``graphkit.datasets.registry`` as well (``graphkit datasets`` lists them)."""
    from graphkit.datasets import registry  # here: graphkit.datasets/__init__ imports this module first
    for name in names:
        def loader(root: Optional[str] = None, _name: str = name, **kwargs: Any) -> "OGBDataset":
            return load_ogb(_name, root, **kwargs)

        def on_disk(root: Optional[str] = None, _name: str = name) -> bool:
            return is_cached(_name, root) or _has_raw(dataset_dir(_name, root), meta_info(_name))

        where = "fixture" if name in _REGISTERED else "OGB"
        registry.register(name, loader, name.split("-")[0], on_disk, f"{where} {meta_info(name).get('task type', '')}",
                          overwrite=True)


def ogb_names() -> List[str]:
    """Every name ``load_ogb`` accepts: ogb's master.csv files plus registered ones."""
    return sorted({**_official(), **_REGISTERED})


def meta_info(name: str) -> Dict[str, str]:
    meta = _REGISTERED.get(name) or _official().get(name)
    if meta is None:
        raise ValueError(f"unknown OGB data set {name!r}; known: {', '.join(ogb_names())}")
    return dict(meta)


def default_root() -> Path:
    return Path(os.environ.get("GRAPHKIT_DATA", Path.home() / ".cache" / "graphkit" / "ogb"))


def dataset_dir(name: str, root: Union[str, Path, None] = None) -> Path:
    if root is None:
        root = _REGISTERED_ROOT.get(name, default_root())
    return Path(root) / "_".join(name.split("-"))


def registered_root(name: str) -> Optional[Path]:
    """The folder a name registered with :func:`register_meta` loads from by default (None for ogb's own)."""
    return _REGISTERED_ROOT.get(name)


def _folder_meta(folder: Path) -> tuple:
    """Meta of a folder in OGB format: ``meta.json`` inside it, or the parent's master.csv entry."""
    if (folder / "meta.json").is_file():
        meta = json.loads((folder / "meta.json").read_text())
        return meta["name"], meta
    master = folder.parent / "master.csv"
    if master.is_file():
        for name, meta in _read_master(master).items():
            if "_".join(name.split("-")) == folder.name:
                return name, meta
    raise ValueError(f"folder {str(folder)!r} has no meta.json and its parent has no master.csv entry for it")


# ----------------------------------------------------------------------------------------------------- download
def _download(name: str, meta: Dict[str, str], root: Path, target: Path) -> None:
    from ogb.utils.url import download_url, extract_zip

    url = meta["url"]
    zip_path = root / url.rpartition("/")[2]
    hint = _hint(meta, root)
    if not zip_path.is_file():
        print(f"graphkit: downloading {url} into {root}", file=sys.stderr)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                download_url(url, str(root), log=False)
        except Exception as exc:  # URLError, HTTPError, socket errors, ValueError for a bad URL
            if zip_path.exists():
                zip_path.unlink()
            reason = getattr(exc, "reason", exc)
            raise OGBDownloadError(f"cannot download {name} ({reason}); {hint}") from None
    try:
        extract_zip(str(zip_path), str(root), log=False)
    except Exception as exc:
        raise OGBDownloadError(f"cannot unzip {zip_path} ({exc}); {hint}") from None
    extracted = root / meta["download_name"]
    if not extracted.is_dir():
        raise OGBDownloadError(f"{zip_path} did not contain the folder {meta['download_name']}/; {hint}")
    if extracted.resolve() != target.resolve():
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(extracted), str(target))
    zip_path.unlink()


def _hint(meta: Dict[str, str], root: Path) -> str:
    url = meta.get("url", "")
    return (f"download {url} yourself and unzip it into {root}/ (giving {root / meta['download_name']}/raw/), "
            f"or put the zip file at {root / url.rpartition('/')[2]}")


def _adopt_unzipped(meta: Dict[str, str], root: Path, folder: Path) -> None:
    """A zip the user unzipped by hand gives ``root/<download_name>/``; move it where ogb would (``root/ogbn_x``)."""
    extracted = root / meta.get("download_name", "")
    if extracted != folder and not _has_raw(folder, meta) and _has_raw(extracted, meta):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(str(extracted), str(folder))


def _has_raw(folder: Path, meta: Dict[str, str]) -> bool:
    raw = folder / "raw"
    hetero, binary = meta.get("is hetero") == "True", meta.get("binary") == "True"
    if hetero:
        return (raw / ("edge_index_dict.npz" if binary else "triplet-type-list.csv.gz")).is_file()
    return (raw / ("data.npz" if binary else "edge.csv.gz")).is_file()


# ----------------------------------------------------------------------------------------------------- parsing
def _int(meta: Dict[str, str], key: str) -> Optional[int]:
    """An integer meta entry; missing, empty and "None" (ogb's own spelling) all mean None."""
    value = str(meta.get(key, "")).strip()
    return int(value) if value not in ("", "None") else None


def _files(meta: Dict[str, str], key: str) -> List[str]:
    value = meta.get(key, "None")
    return [] if value in ("None", "") else value.split(",")


def _torch_split(path: Path) -> Any:
    # ogb saved these with torch.save (numpy arrays or tensors inside); allow numpy's array rebuild and nothing else.
    allowed = [np._core.multiarray._reconstruct, np.ndarray, np.dtype] + [
        type(np.dtype(t)) for t in (np.int64, np.int32, np.float32, np.float64, np.bool_, np.uint8)]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # UnpicklingError for anything but arrays; a truncated file fails the same way
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"split file {path} holds something other than arrays, or is damaged "
                         f"({first[:200]})") from None


def _read_split(folder: Path, meta: Dict[str, str], kind: str) -> Dict[str, Any]:
    import pandas as pd
    from ogb.io.read_graph_raw import read_nodesplitidx_split_hetero

    path = folder / "split" / meta["split"]
    if (path / "split_dict.pt").is_file():
        return _torch_split(path / "split_dict.pt")
    if kind == "ogbl":
        return {s: _torch_split(path / f"{s}.pt") for s in ("train", "valid", "test")}
    if meta.get("is hetero") == "True":
        tr, va, te = read_nodesplitidx_split_hetero(str(path))
        return {"train": tr, "valid": va, "test": te}
    return {s: pd.read_csv(path / f"{s}.csv.gz", compression="gzip", header=None).values.T[0]
            for s in ("train", "valid", "test")}


def _concat_graphs(graph_list: List[Dict[str, Any]]) -> Dict[str, Any]:
    """ogb's list of per-graph dicts -> concatenated arrays plus per-graph counts (edge ids stay local)."""
    out: Dict[str, Any] = {"num_nodes": np.array([g["num_nodes"] for g in graph_list], dtype=np.int64),
                           "num_edges": np.array([g["edge_index"].shape[1] for g in graph_list], dtype=np.int64),
                           "edge_index": np.concatenate([g["edge_index"] for g in graph_list], axis=1)}
    for key in graph_list[0]:
        if key not in ("num_nodes", "edge_index") and graph_list[0][key] is not None:
            out[key] = np.concatenate([g[key] for g in graph_list], axis=0)
    return out


def _parse(folder: Path, meta: Dict[str, str], kind: str) -> Dict[str, Any]:
    import pandas as pd
    from ogb.io import read_graph_raw as rg

    raw = str(folder / "raw")
    inverse, hetero = meta.get("add_inverse_edge") == "True", meta.get("is hetero") == "True"
    binary = meta.get("binary") == "True"
    extra = dict(additional_node_files=_files(meta, "additional node files"),
                 additional_edge_files=_files(meta, "additional edge files"))
    with contextlib.redirect_stdout(sys.stderr):  # ogb prints progress; keep stdout for results
        if hetero:
            graphs = (rg.read_binary_heterograph_raw(raw, inverse) if binary
                      else rg.read_csv_heterograph_raw(raw, inverse, **extra))
            content: Dict[str, Any] = {"hetero": graphs[0]}
        else:
            graphs = (rg.read_binary_graph_raw(raw, inverse) if binary
                      else rg.read_csv_graph_raw(raw, inverse, **extra))
            content = {"graphs": _concat_graphs(graphs)}
        if kind == "ogbn" and hetero:  # one label array per node type
            content["labels"] = (rg.read_npz_dict(os.path.join(raw, "node-label.npz")) if binary
                                 else rg.read_node_label_hetero(raw))
        elif kind == "ogbn":
            content["labels"] = (np.load(os.path.join(raw, "node-label.npz"))["node_label"] if binary
                                 else pd.read_csv(os.path.join(raw, "node-label.csv.gz"), header=None).values)
        elif kind == "ogbg":
            if meta.get("task type") == "subtoken prediction":  # code2: space-joined subtokens, kept as strings
                joined = pd.read_csv(os.path.join(raw, "graph-label.csv.gz"), header=None).values
                content["labels"] = joined[:, 0].astype(str)
            else:
                content["labels"] = (np.load(os.path.join(raw, "graph-label.npz"))["graph_label"] if binary
                                     else pd.read_csv(os.path.join(raw, "graph-label.csv.gz"), header=None).values)
    content["split"] = _read_split(folder, meta, kind)
    return content


def is_cached(name: str, root: Union[str, Path, None] = None) -> bool:
    return (dataset_dir(name, root) / "processed" / "graphkit" / "manifest.json").is_file()


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


@dataclass
class OGBDataset:
    """A loaded OGB data set. ``graph`` for node/link sets, ``graphs`` for graph sets; ``split`` holds tensors."""

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

    @property
    def kind(self) -> str:
        return self.name.split("-")[0]

    def __repr__(self) -> str:
        what = f"graphs={len(self.graphs)}" if self.graphs is not None else f"graph={self.graph!r}"
        return (f"OGBDataset({self.name}, {what}, eval_metric={self.eval_metric!r}, "
                f"num_classes={self.num_classes}, num_tasks={self.num_tasks})")


def _evaluate_module(sub: str) -> Any:
    """``ogb.<sub>.evaluate`` without running ``ogb.<sub>/__init__``, which imports PyG and DGL (seconds)."""
    import importlib.util

    full = f"ogb.{sub}.evaluate"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.find_spec("ogb")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("graphkit.datasets.load_ogb needs ogb: pip install ogb==1.3.6")
    path = Path(spec.submodule_search_locations[0]) / sub / "evaluate.py"
    mod_spec = importlib.util.spec_from_file_location(f"graphkit._ogb_{sub}_evaluate", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
    sys.modules[full] = module
    return module


def official_evaluator(kind: str, eval_metric: str, num_tasks: Optional[int] = None, name: str = "custom") -> Any:
    """ogb's own ``Evaluator`` for ``kind`` ("ogbn", "ogbl", "ogbg") computing ``eval_metric``.

    ogb's ``__init__`` only looks the name up in its master.csv; for any other name (a registered fixture, or a
    second metric such as ``hits@50`` next to a set's own) the instance is told the metric directly, and ogb's
    evaluation code runs unchanged.
    """
    cls = _evaluate_module(PREFIXES[kind]).Evaluator
    if name in _official() and _official()[name]["eval metric"] == eval_metric:
        return cls(name)
    ev = cls.__new__(cls)
    ev.name, ev.eval_metric = name, eval_metric
    if num_tasks is not None:
        ev.num_tasks = int(num_tasks)
    if "hits@" in eval_metric:
        ev.K = int(eval_metric.split("@")[1])
    return ev


def load_ogb(name: Union[str, Path], root: Union[str, Path, None] = None, *, download: bool = True,
             verify: bool = True) -> OGBDataset:
    """Load an OGB data set by name (downloading it into ``root`` when needed) or from a folder in OGB format.

    Args:
        name: ``"ogbn-arxiv"``, a name registered with :func:`register_meta`, or a path to an OGB-format folder.
        root: folder holding ``<root>/ogbn_arxiv/``; defaults to ``$GRAPHKIT_DATA`` or ``~/.cache/graphkit/ogb``.
        download: fetch missing raw files from ogb's URL; ``False`` raises :class:`OGBDownloadError` instead.
        verify: check every cached file's sha256 (sizes are always checked).
    """
    if os.path.isdir(str(name)) and (Path(name) / "raw").is_dir():
        folder = Path(name).resolve()
        name, meta = _folder_meta(folder)
        root = folder.parent
    else:
        name = str(name)
        meta = meta_info(name)
        folder = dataset_dir(name, root)
        root = folder.parent
    kind = name.split("-")[0]
    num_tasks = _int(meta, "num tasks")
    cache = folder / "processed" / "graphkit"
    content = read_cache(cache, verify)
    if content is None:
        _adopt_unzipped(meta, Path(root), folder)
        if not _has_raw(folder, meta):
            if not download:
                raise OGBDownloadError(f"{name} is not in {folder}; {_hint(meta, Path(root))}")
            Path(root).mkdir(parents=True, exist_ok=True)
            _download(name, meta, Path(root), folder)
        write_cache(cache, _parse(folder, meta, kind))
        content = read_cache(cache, verify=False)
        assert content is not None
    labels = content.get("labels")
    split = _tensors(content["split"])
    split = {**{k: split[k] for k in ("train", "valid", "test") if k in split}, **split}  # ogb's order
    ds = OGBDataset(name=name, meta=meta, path=folder, split=split,
                    evaluator=official_evaluator(kind, meta["eval metric"], num_tasks, name),
                    eval_metric=meta["eval metric"],
                    task_type=meta.get("task type", ""), labels=_tensors(labels))
    if "hetero" in content:
        ds.graph = _tensors(content["hetero"])
    elif kind == "ogbg":
        ds.graphs = _graph_list(content["graphs"], labels, per_graph=True)
    else:
        ds.graph = _graph_list(content["graphs"], labels if kind == "ogbn" else None, per_graph=False)[0]
    ds.num_tasks = num_tasks
    if (_int(meta, "num classes") or -1) > 0:
        ds.num_classes = _int(meta, "num classes")
    return ds


_register_names(sorted(_official()))
