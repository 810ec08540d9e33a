"""The csv layout of most real OGB downloads (raw/*.csv.gz, split csv.gz or train.pt), rebuilt from the fixtures.

The committed fixtures are binary (ogb 1.3.6's DatasetSaver writes ``data.npz``); the sets on OGB's server are
mostly csv. These tests write the csv layout of ogbn-arxiv / ogbl-collab from the fixture data and check that
``load_ogb`` reads the same graph back, including ``add_inverse_edge``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from graphkit.datasets.ogb import load_ogb, register_meta

KEYS = ["num tasks", "num classes", "eval metric", "task type", "download_name", "version", "url",
        "add_inverse_edge", "has_node_attr", "has_edge_attr", "split", "additional node files",
        "additional edge files", "is hetero", "binary"]


def _csv(path: Path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(np.asarray(array)).to_csv(path, index=False, header=False, compression="gzip")


def _register(tmp: Path, name: str, meta: dict) -> None:
    (tmp / "master.csv").write_text("," + name + "\n" + "\n".join(f"{k},{meta.get(k, 'None')}" for k in KEYS) + "\n")
    register_meta(tmp / "master.csv")


def test_csv_node_set_like_arxiv(fixtures, tmp_path):
    ref = load_ogb("ogbn-drosophila", fixtures)
    g, folder = ref.graph, tmp_path / "ogbn_csvnode"
    _csv(folder / "raw" / "edge.csv.gz", g.edge_index.T)
    _csv(folder / "raw" / "num-node-list.csv.gz", [g.num_nodes])
    _csv(folder / "raw" / "num-edge-list.csv.gz", [g.num_edges])
    _csv(folder / "raw" / "node-feat.csv.gz", g.x)
    _csv(folder / "raw" / "node-label.csv.gz", g.y)
    _csv(folder / "raw" / "node_year.csv.gz", torch.arange(g.num_nodes).view(-1, 1) + 2000)
    for split, idx in ref.split.items():
        _csv(folder / "split" / "time" / f"{split}.csv.gz", idx.view(-1, 1))
    _register(tmp_path, "ogbn-csvnode", {"num tasks": 1, "num classes": 4, "eval metric": "acc",
                                         "task type": "multiclass classification", "download_name": "x",
                                         "version": 1, "url": "x.zip", "add_inverse_edge": "False",
                                         "split": "time", "additional node files": "node_year",
                                         "is hetero": "False", "binary": "False"})
    ds = load_ogb("ogbn-csvnode", tmp_path)
    assert torch.equal(ds.graph.edge_index, g.edge_index) and torch.equal(ds.graph.y, g.y)
    torch.testing.assert_close(ds.graph.x, g.x)
    assert ds.graph.node_year.shape == (209, 1) and ds.graph.kind("node_year") == "node"
    assert all(torch.equal(ds.split[k], ref.split[k]) for k in ref.split)


def test_csv_link_set_like_collab(fixtures, tmp_path):
    ref = load_ogb("ogbl-connectome", fixtures)
    ei = ref.graph.edge_index
    one_way = ei[:, ei[0] < ei[1]]  # stored once; add_inverse_edge restores both directions
    folder = tmp_path / "ogbl_csvlink"
    _csv(folder / "raw" / "edge.csv.gz", one_way.T)
    _csv(folder / "raw" / "num-node-list.csv.gz", [ref.graph.num_nodes])
    _csv(folder / "raw" / "num-edge-list.csv.gz", [one_way.size(1)])
    (folder / "split" / "time").mkdir(parents=True)
    for split, part in ref.split.items():  # as OGB ships ogbl splits: torch.save of dicts of tensors
        torch.save({k: v for k, v in part.items()}, folder / "split" / "time" / f"{split}.pt")
    _register(tmp_path, "ogbl-csvlink", {"eval metric": "hits@50", "task type": "link prediction",
                                         "download_name": "x", "version": 1, "url": "x.zip",
                                         "add_inverse_edge": "True", "split": "time", "is hetero": "False",
                                         "binary": "False"})
    ds = load_ogb("ogbl-csvlink", tmp_path)
    assert ds.graph.num_edges == 2 * one_way.size(1) and ds.evaluator.K == 50
    assert set(map(tuple, ds.graph.edge_index.T.tolist())) == set(map(tuple, ei.T.tolist()))
    assert torch.equal(ds.split["test"]["edge_neg"], ref.split["test"]["edge_neg"])
