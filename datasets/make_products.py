"""Write a synthetic OGB node data set with ogbn-products' size and shape, through ogb's own ``DatasetSaver``.

    python datasets/make_products.py --out DIR                      # 2,449,029 nodes, 61,859,140 edges (~4 GB)
    python datasets/make_products.py --out DIR --nodes 20000 --edges 500000   # a small one (CI)
    graphkit train --dataset DIR/ogbn_synthproducts --model sage --batch-size 1024

The graph is a degree-corrected stochastic block model (Karrer & Newman 2011) with planted communities:

* every node ``i`` has a class ``c_i`` (``--classes``, 47 as ogbn-products; class sizes Zipf-distributed, as
  product categories are) and a degree propensity ``theta_i`` drawn from a Pareto law of exponent ``--exponent``
  (power-law degrees, ogbn-products' hubs);
* each of the ``--edges`` undirected edges picks its first end ``i`` with probability proportional to ``theta``,
  and its second end, with probability ``--homophily``, among ``c_i``'s nodes (proportional to ``theta``), else
  among all nodes: the classes are communities of the graph;
* node features (``--features``, 100 as ogbn-products' PCA'd bags of words) are ``mu_{c_i} + N(0, I)`` with random
  class centroids ``mu`` about ``--signal`` apart: each node's own features say little about its class, a mean over its
  neighbourhood (mostly its own class) much more, so GraphSAGE beats an MLP on the same features;
* the split is random: 8% train, 2% valid, 90% test (ogbn-products trains on 8% too).

Node ids are shuffled, so nothing about a class can be read from an id. The result is a function of ``--seed`` and
the sizes. The folder holds ogb's binary raw files (``raw/data.npz``, ``raw/node-label.npz``,
``split/random/split_dict.pt``) and a ``meta.json`` with ogb's meta dict, so ``graphkit.datasets.load_ogb(folder)``
(and ``graphkit train --dataset folder``) read it through the same code path as a downloaded OGB data set.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

NAME = "ogbn-synthproducts"
PRODUCTS = dict(nodes=2_449_029, edges=61_859_140, features=100, classes=47)


def generate(nodes: int, edges: int, features: int, classes: int, homophily: float = 0.8, signal: float = 3.0,
             exponent: float = 3.5, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
    """``(edge_index [2, E] int64, x [N, F] float32, y [N, 1] int64, split)`` of the model in the docstring."""
    if not (0.0 <= homophily <= 1.0):
        raise ValueError(f"homophily must be in [0, 1], got {homophily}")
    if nodes < classes or edges < 1 or features < 1 or classes < 2:
        raise ValueError(f"need nodes >= classes >= 2 and edges, features >= 1; got nodes={nodes}, "
                         f"classes={classes}, edges={edges}, features={features}")
    if exponent <= 1.0:
        raise ValueError(f"exponent must be > 1, got {exponent}")
    rng = np.random.default_rng(seed)
    # classes: Zipf-like sizes, every class present at least once
    weights = 1.0 / np.arange(1, classes + 1) ** 0.8
    y = np.concatenate([np.arange(classes), rng.choice(classes, nodes - classes, p=weights / weights.sum())])
    rng.shuffle(y)
    theta = rng.pareto(exponent - 1.0, nodes) + 1.0  # P(theta > t) ~ t^-(exponent-1): degree tail exponent
    # nodes ordered by class, so that "a node of class c in proportion to theta" is one search in a prefix sum
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(theta[order])
    bounds = np.searchsorted(y[order], np.arange(classes + 1))  # class c occupies order[bounds[c]:bounds[c+1]]
    start = np.where(bounds[:-1] > 0, cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
    mass = cum[bounds[1:] - 1] - start
    src = order[np.minimum(np.searchsorted(cum, rng.random(edges) * cum[-1], side="right"), nodes - 1)]
    local = rng.random(edges) < homophily
    u = rng.random(edges)
    c = y[src]
    pos = np.where(local, start[c] + u * mass[c], u * cum[-1])
    dst = order[np.minimum(np.searchsorted(cum, pos, side="right"), nodes - 1)]
    del pos, u, local, c
    edge_index = np.stack([src, dst]).astype(np.int64)
    mu = rng.standard_normal((classes, features)).astype(np.float32)
    mu *= signal / np.sqrt(2.0 * features)  # two centroids lie ~signal apart: per-node noise is 1 along that line
    x = rng.standard_normal((nodes, features), dtype=np.float32)
    x += mu[y]
    perm = rng.permutation(nodes)
    a, b = int(0.08 * nodes), int(0.10 * nodes)
    split = {"train": np.sort(perm[:a]), "valid": np.sort(perm[a:b]), "test": np.sort(perm[b:])}
    return edge_index, x, y.reshape(-1, 1).astype(np.int64), split


def write(folder: Path, edge_index: np.ndarray, x: np.ndarray, y: np.ndarray, split: Dict[str, np.ndarray],
          classes: int) -> Path:
    """Save with ``ogb.io.DatasetSaver`` (binary) into ``folder/ogbn_synthproducts`` plus ``meta.json``."""
    from ogb.io import DatasetSaver

    target = folder / "_".join(NAME.split("-"))
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        saver = DatasetSaver(NAME, is_hetero=False, version=1, root=os.path.join(tmp, "submission"))
        saver.save_graph_list([{"edge_index": edge_index, "node_feat": x, "edge_feat": None,
                                "num_nodes": int(x.shape[0])}])
        saver.save_target_labels(y)
        saver.save_task_info("multiclass classification", "acc", classes)
        saver.save_split(split, "random")
        mapping = Path(tmp) / "mapping"
        mapping.mkdir()
        (mapping / "README.md").write_text("Synthetic: datasets/make_products.py (planted communities).\n")
        saver.copy_mapping_dir(str(mapping))
        meta = saver.get_meta_dict()
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(saver.dataset_dir, target)
    shutil.rmtree(target / "processed", ignore_errors=True)  # the saver's own check left files; our cache goes there
    meta.update(name=NAME, download_name=target.name, url="", version=str(meta["version"]))
    (target / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return target


def main(argv: None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder to write ogbn_synthproducts/ into")
    for key, value in PRODUCTS.items():
        ap.add_argument(f"--{key}", type=int, default=value)
    ap.add_argument("--homophily", type=float, default=0.8)
    ap.add_argument("--signal", type=float, default=3.0,
                    help="distance between class centroids, in units of the per-node feature noise")
    ap.add_argument("--exponent", type=float, default=3.5, help="power-law exponent of the degrees")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = generate(args.nodes, args.edges, args.features, args.classes, args.homophily, args.signal,
                    args.exponent, args.seed)
    t1 = time.perf_counter()
    target = write(Path(args.out), *data, classes=args.classes)
    print(f"{target}: {args.nodes} nodes, {args.edges} edges, {args.features} features, {args.classes} classes "
          f"(generated in {t1 - t0:.1f} s, written in {time.perf_counter() - t1:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
