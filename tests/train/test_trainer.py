"""The Trainer in-process on the fixtures: run folder, seeds, early stopping, schedules, every task."""
from __future__ import annotations

import json

import pytest
import torch

from graphkit.train import TrainConfig, run


def _run(fixtures, tmp_path, name="r", **kw):
    kw.setdefault("dataset", "ogbn-drosophila")
    cfg = TrainConfig(root=str(fixtures), out=str(tmp_path / name), hidden=16, **kw)
    return run(cfg, progress=False, echo=lambda *a: None)


def _history(path):
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_run_folder_and_same_seed_same_result(fixtures, tmp_path):
    a = _run(fixtures, tmp_path, "a", epochs=6)
    b = _run(fixtures, tmp_path, "b", epochs=6)
    c = _run(fixtures, tmp_path, "c", epochs=6, seed=1)
    run_a = tmp_path / "a"
    assert {p.name for p in run_a.iterdir()} >= {"config.json", "metrics.jsonl", "best.pt", "last.pt",
                                                  "curves.png", "summary.json"}
    assert _history(run_a) == _history(tmp_path / "b") and a["final"] == b["final"]
    assert _history(run_a) != _history(tmp_path / "c")
    best = torch.load(run_a / "best.pt", weights_only=True)
    assert best["epoch"] == a["best_epoch"] and best["metrics"]["valid"] == a["final"]["valid"]
    assert json.loads((run_a / "config.json").read_text())["epochs"] == 6
    lrs = [r["lr"] for r in _history(run_a)]
    assert lrs[0] == 0.01 and all(x > y for x, y in zip(lrs, lrs[1:]))  # cosine schedule


def test_early_stopping_and_step_schedule(fixtures, tmp_path):
    notices = []
    cfg = TrainConfig(root=str(fixtures), out=str(tmp_path / "r"), hidden=16, dataset="ogbn-drosophila", epochs=40,
                      lr=1e-9, patience=2, scheduler="step")
    out = run(cfg, progress=False, echo=notices.append)
    assert out["epochs_run"] == 3 and out["best_epoch"] == 1  # nothing improves after the first epoch
    assert out["stopped"].startswith("stopped after 2 epochs without improvement of valid acc")
    assert any(out["stopped"] in notice for notice in notices)  # said, not only recorded


@pytest.mark.parametrize("dataset, model, metric, mode", [("ogbl-connectome", "sage", "hits@20", "max"),
                                                           ("ogbl-connectome", "ncn", "hits@20", "max"),
                                                           ("ogbg-b3db", "gcn", "rocauc", "max"),
                                                           ("ogbg-freesolv", "gin", "rmse", "min")])
def test_link_and_graph_tasks(fixtures, tmp_path, dataset, model, metric, mode):
    out = _run(fixtures, tmp_path, dataset=dataset, model=model, epochs=3, batch_size=2048, layers=1, lr=0.01)
    assert out["metric"] == metric and 0.0 <= out["final"]["test"][metric]
    rows = _history(tmp_path / "r")
    assert [r["epoch"] for r in rows] == [1, 2, 3] and all(metric in r[s] for r in rows for s in ("train", "valid"))
    assert rows[-1]["loss"] < rows[0]["loss"]  # it trains
    # the selected model is the best validation epoch in the monitor's direction, and it is the one scored
    pick = (max if mode == "max" else min)(rows, key=lambda r: r["valid"][metric])
    assert out["best_epoch"] == pick["epoch"] and out["final"]["valid"][metric] == pick["valid"][metric]


def test_task_must_match_dataset(fixtures, tmp_path):
    with pytest.raises(ValueError, match="is for --task node, not --task graph"):
        _run(fixtures, tmp_path, task="graph", epochs=1)


def test_node_mini_batches_are_reproducible(fixtures, tmp_path):
    a = _run(fixtures, tmp_path, "a", epochs=2, batch_size=32)  # 126 training nodes: 4 sampled batches an epoch
    b = _run(fixtures, tmp_path, "b", epochs=2, batch_size=32)
    assert _history(tmp_path / "a") == _history(tmp_path / "b") and a["final"] == b["final"]
