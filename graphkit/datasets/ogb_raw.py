"""OGB raw files: ogb's own readers (binary ``data.npz`` or csv), split files read without a full unpickler.

ogb's readers print progress and draw tqdm bars; :func:`parse_raw` keeps them quiet. Damage becomes one
:class:`RawDataError` naming the folder and what to do.
"""
from __future__ import annotations

import contextlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch

from graphkit.datasets.ogb_meta import meta_files

__all__ = ["RawDataError", "parse_raw", "read_split", "torch_split", "concat_graphs"]


class RawDataError(ValueError):
    """A raw or split file cannot be read; the message names the file and what to do."""


def torch_split(path: Path) -> Any:
    # ogb saved these with torch.save (numpy arrays or tensors inside); allow numpy's array rebuild and nothing else.
    allowed = [np._core.multiarray._reconstruct, np.ndarray, np.dtype] + [
        type(np.dtype(t)) for t in (np.int64, np.int32, np.float32, np.float64, np.bool_, np.uint8, np.str_)]
    # np.str_: ogbl-biokg's head_type/tail_type are arrays of type names (fixed-width unicode, no objects)
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # UnpicklingError for anything but arrays; a truncated file fails the same way
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RawDataError(f"split file {path} holds something other than arrays, or is damaged "
                           f"({first[:200]})") from None


def read_split(folder: Path, meta: Dict[str, str], kind: str) -> Dict[str, Any]:
    import pandas as pd
    from ogb.io.read_graph_raw import read_nodesplitidx_split_hetero

    path = folder / "split" / meta["split"]
    if (path / "split_dict.pt").is_file():
        return torch_split(path / "split_dict.pt")
    if kind == "ogbl":
        return {s: torch_split(path / f"{s}.pt") for s in ("train", "valid", "test")}
    if meta.get("is hetero") == "True":
        tr, va, te = read_nodesplitidx_split_hetero(str(path))
        return {"train": tr, "valid": va, "test": te}
    return {s: pd.read_csv(path / f"{s}.csv.gz", compression="gzip", header=None).values.T[0]
            for s in ("train", "valid", "test")}


def concat_graphs(graph_list: List[Dict[str, Any]]) -> Dict[str, Any]:
    """ogb's list of per-graph dicts -> concatenated arrays plus per-graph counts (edge ids stay local)."""
    out: Dict[str, Any] = {"num_nodes": np.array([g["num_nodes"] for g in graph_list], dtype=np.int64),
                           "num_edges": np.array([g["edge_index"].shape[1] for g in graph_list], dtype=np.int64),
                           "edge_index": np.concatenate([g["edge_index"] for g in graph_list], axis=1)}
    for key in graph_list[0]:
        if key not in ("num_nodes", "edge_index") and graph_list[0][key] is not None:
            out[key] = np.concatenate([g[key] for g in graph_list], axis=0)
    return out


def parse_raw(name: str, folder: Path, meta: Dict[str, str]) -> Dict[str, Any]:
    """The content of ``folder/raw`` and ``folder/split`` as nested dicts of arrays; damage is a RawDataError."""
    try:
        return _read_raw(folder, meta, name.split("-")[0])
    except RawDataError:
        raise
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RawDataError(f"the raw files of {name} in {folder} are damaged or incomplete "
                           f"({type(exc).__name__}: {first}); delete {folder} and download it again") from None


def _read_raw(folder: Path, meta: Dict[str, str], kind: str) -> Dict[str, Any]:
    import pandas as pd
    from ogb.io import read_graph_raw as rg

    raw = str(folder / "raw")
    inverse, hetero = meta.get("add_inverse_edge") == "True", meta.get("is hetero") == "True"
    binary = meta.get("binary") == "True"
    extra = dict(additional_node_files=meta_files(meta, "additional node files"),
                 additional_edge_files=meta_files(meta, "additional edge files"))
    # ogb's readers print "Loading necessary files..." and draw tqdm bars on stdout/stderr: keep both quiet
    noise = io.StringIO()
    with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
        if hetero:
            graphs = (rg.read_binary_heterograph_raw(raw, inverse) if binary
                      else rg.read_csv_heterograph_raw(raw, inverse, **extra))
            content: Dict[str, Any] = {"hetero": graphs[0]}
        else:
            graphs = (rg.read_binary_graph_raw(raw, inverse) if binary
                      else rg.read_csv_graph_raw(raw, inverse, **extra))
            content = {"graphs": concat_graphs(graphs)}
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
    content["split"] = read_split(folder, meta, kind)
    return content
