"""Features partitioned across ranks, heavier cases: 4 gloo ranks (each with only its METIS part's rows) train to
one process's accuracy with every gathered row checked; ``--remote-features fetch`` through the DDP entry point."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from graphkit.datasets.csbm import contextual_sbm
from graphkit.testing.dist_features import prepare, spawn
from graphkit.train.distributed import launch

pytestmark = pytest.mark.heavy

CFG = {"epochs": 4, "batch_size": 128, "fanouts": [8, 4], "hidden": 32, "lr": 0.01, "seed": 0, "verify": True}


@pytest.mark.parametrize("cache", [0, 64])
def test_four_ranks_without_all_features_match_one_process(tmp_path, cache: int) -> None:
    g = contextual_sbm(1500, 4, num_features=16, avg_degree=8.0, homophily=0.8, mu=1.0, noise=2.0, seed=0)
    train, test = g.train_mask.nonzero().view(-1), g.test_mask.nonzero().view(-1)
    prepare(g, train, test, 1, tmp_path / "w1")
    prepare(g, train, test, 4, tmp_path / "w4")
    one = spawn(1, tmp_path / "w1", CFG, tmp_path / "one")
    four = spawn(4, tmp_path / "w4", {**CFG, "cache": cache}, tmp_path / "four")
    assert sum(m["local_rows"] for m in four) == g.num_nodes
    for m in four:
        assert m["local_rows"] < g.num_nodes / 2 and m["rows_checked"] > 0
        assert (m["epochs"][-1]["rows_cached"] > 0) == (cache > 0)
    assert len({m["acc"] for m in four}) == 1
    assert one[0]["acc"] > 0.8 and abs(one[0]["acc"] - four[0]["acc"]) < 0.05, (one[0]["acc"], four[0]["acc"])


def test_ddp_entry_point_with_fetched_features(tmp_path) -> None:
    args = ["--nodes", "1500", "--epochs", "4", "--batch-size", "128", "--fanouts", "8,4"]
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    for k in ("RANK", "WORLD_SIZE"):
        env.pop(k, None)
    one = tmp_path / "one.json"
    subprocess.run([sys.executable, "-m", "graphkit.train.distributed", *args, "--out", str(one)], check=True,
                   env=env, timeout=120)
    two = tmp_path / "two.json"
    assert launch(2, [*args, "--remote-features", "fetch", "--feature-cache", "32", "--out", str(two),
                      "--timeout", "30"], module="graphkit.train.distributed") == 0
    m1, m2 = json.loads(one.read_text()), json.loads(two.read_text())
    assert m2["world_size"] == 2 and m1["test"] > 0.8 and abs(m1["test"] - m2["test"]) < 0.04, (m1, m2)


def test_cli_remote_features_fetch(tmp_path) -> None:
    from graphkit.testing.ogb_fixtures import copy_fixtures

    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy_fixtures(tmp_path / "fixtures"))}
    args = [sys.executable, "-m", "graphkit", "train", "--epochs", "3", "--hidden", "16", "--layers", "2",
            "--batch-size", "32", "--nproc", "2", "--remote-features", "fetch", "--feature-cache", "16"]
    run = subprocess.run([*args, "--out", str(tmp_path / "r")], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["remote_features"] == "fetch" and config["feature_cache"] == 16
    bad = subprocess.run([*args[:-1], "-1", "--out", str(tmp_path / "bad")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 2 and "--feature-cache must be at least 0, got -1" in bad.stderr, bad.stderr[-2000:]
