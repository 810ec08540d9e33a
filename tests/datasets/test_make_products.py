"""datasets/make_products.py: the products-shaped generator, at a small size, through ogb's saver, graphkit's OGB
loader and `graphkit train` (the full size is a benchmark: benchmarks/products.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphkit.testing.peers import require_peer

SCRIPT = Path(__file__).resolve().parents[2] / "datasets" / "make_products.py"
sys.path.insert(0, str(SCRIPT.parent))
from make_products import generate  # noqa: E402


def test_planted_communities_and_power_law_degrees():
    ei, x, y, split = generate(4000, 60000, 12, 7, seed=3)
    again = generate(4000, 60000, 12, 7, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((ei, x, y), again[:3]))  # a function of the seed
    assert ei.shape == (2, 60000) and x.shape == (4000, 12) and y.shape == (4000, 1) and ei.dtype == np.int64
    assert set(np.unique(y)) == set(range(7))
    same = (y[ei[0], 0] == y[ei[1], 0]).mean()
    assert 0.75 < same < 0.9  # homophily 0.8 plus the chance of landing in the own class otherwise
    deg = np.bincount(ei.ravel(), minlength=4000)
    assert deg.max() > 10 * np.median(deg)  # hubs: a heavy tail, not a Poisson bulk
    parts = np.concatenate(list(split.values()))
    assert np.array_equal(np.sort(parts), np.arange(4000)) and len(split["train"]) == 320
    with pytest.raises(ValueError, match="homophily"):
        generate(100, 100, 4, 3, homophily=1.5)


@pytest.mark.heavy
def test_small_products_through_the_cli(tmp_path):
    require_peer("ogb")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    gen = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--nodes", "3000", "--edges", "40000",
                          "--features", "16", "--classes", "5"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert gen.returncode == 0, gen.stderr[-2000:]
    folder = tmp_path / "ogbn_synthproducts"
    assert json.loads((folder / "meta.json").read_text())["name"] == "ogbn-synthproducts"
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "graphkit", "train", "--dataset", str(folder), "--model", "sage",
                          "--batch-size", "64", "--epochs", "3", "--hidden", "32", "--out", str(out),
                          "--progress", "off"], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == "acc"
    assert summary["final"]["test"]["acc"] > 1 / 5  # learnt something (fixed seeds: deterministic)
    assert "ogbn-synthproducts" in run.stdout and "split  acc" in run.stdout
