"""Two gloo ranks on 127.0.0.1, each holding only its METIS part's feature rows (its own ``.npy``), train GraphSAGE
with DDP through ``DistFeatureStore`` to the accuracy one process reaches; every row a batch gathered was right."""
from __future__ import annotations

import torch

from graphkit.datasets.csbm import contextual_sbm
from graphkit.testing.dist_features import prepare, spawn

CFG = {"epochs": 4, "batch_size": 128, "fanouts": [8, 4], "hidden": 32, "lr": 0.01, "cache": 64, "seed": 0,
       "verify": True}


def test_two_ranks_without_all_features_match_one_process(tmp_path) -> None:
    g = contextual_sbm(1500, 4, num_features=16, avg_degree=8.0, homophily=0.8, mu=1.0, noise=2.0, seed=0)
    train, test = g.train_mask.nonzero().view(-1), g.test_mask.nonzero().view(-1)
    prepare(g, train, test, 1, tmp_path / "w1")
    part = prepare(g, train, test, 2, tmp_path / "w2")
    one = spawn(1, tmp_path / "w1", CFG, tmp_path / "one")
    two = spawn(2, tmp_path / "w2", CFG, tmp_path / "two")
    for r, m in enumerate(two):
        assert m["local_rows"] == int((part.part == r).sum()) < g.num_nodes  # no rank held all rows
        last = m["epochs"][-1]
        assert last["rows_fetched"] > 0 and last["rows_cached"] > 0 and last["bytes_received"] > 0
        assert m["cache_fill_bytes"] > 0 and m["rows_checked"] > 0  # and every gathered row matched its digest
    assert two[0]["acc"] == two[1]["acc"]  # all-reduced
    print("accuracy: one process", one[0]["acc"], "two ranks", two[0]["acc"])
    assert one[0]["acc"] > 0.8, one  # both learned the task ...
    assert abs(one[0]["acc"] - two[0]["acc"]) < 0.04, (one[0]["acc"], two[0]["acc"])  # ... equally, within noise
