"""Link prediction in sampled mini-batches (``--batch-size N``: LinkNeighborLoader) against full-graph training."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from graphkit import Graph
from graphkit.loader import LinkNeighborLoader
from graphkit.train import TrainConfig, run
from graphkit.train.run import load_dataset


def _run(fixtures, tmp_path, name, **kw):  # as `graphkit train` runs
    cfg = TrainConfig(root=str(fixtures), out=str(tmp_path / name), dataset="ogbl-connectome", hidden=32, **kw)
    return run(cfg, progress=False, echo=lambda *a: None)


def test_batch_size_switches_to_the_link_loader(fixtures, monkeypatch):
    from graphkit.train.link import LinkTask

    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    ds, _ = load_dataset("ogbl-connectome")
    full = LinkTask(ds, TrainConfig(task="link", hidden=8).resolved(), torch.device("cpu"))
    assert full.loader is None and isinstance(next(iter(full.batches())), tuple)
    for model in ("gcn", "ncnc"):
        task = LinkTask(ds, TrainConfig(task="link", model=model, hidden=8, batch_size=1000).resolved(),
                        torch.device("cpu"))
        assert isinstance(task.loader, LinkNeighborLoader)
        batches = list(task.batches())
        assert len(batches) == 5 and all(isinstance(b, Graph) for b in batches)  # 4,447 positives / 1,000
        b = batches[0]
        assert int((b.edge_label == 1).sum()) == 1000 and int((b.edge_label == 0).sum()) == 1000  # negatives
        loss = task.loss(b)
        loss.backward()
        assert torch.isfinite(loss) and any(p.grad is not None for p in task.model.parameters())


def test_cli_trains_link_mini_batches_on_the_fixture(fixtures, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(fixtures)}
    proc = subprocess.run([sys.executable, "-m", "graphkit", "train", "--task", "link", "--batch-size", "1024",
                           "--epochs", "2", "--hidden", "16", "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == "hits@20" and json.loads((out / "config.json").read_text())["batch_size"] == 1024
    assert set(summary["final"]["test"]) >= {"hits@20", "hits@50", "mrr", "auc"}  # ogb's evaluator, full graph


def _fit(ds, tmp_path, name, fanouts=None, **kw):
    from graphkit.train.custom import fit_supervised
    from graphkit.train.link import LinkTask
    from graphkit.train.trainer import seed_everything

    cfg = TrainConfig(task="link", hidden=32, epochs=15, **kw).resolved()
    seed_everything(0)
    task = LinkTask(ds, cfg, torch.device("cpu"), fanouts=fanouts)
    return fit_supervised(task, tmp_path / name, cfg.epochs, lr=cfg.lr, seed=0, verbose=False,
                          deterministic=True)["final"]["test"]


def test_mini_batch_and_full_batch_reach_comparable_scores(fixtures, tmp_path, monkeypatch):
    """GCN on ogbl-connectome, 15 epochs of 512 positives a step (plus as many negatives) either way. With every
    neighbour sampled (fan-out -1) a seed's embedding on its sub-graph is its full-graph one, so the two runs
    differ only in which pairs meet in a step: their scores must agree closely. The default fan-out (10 per hop;
    the graph's mean degree is 42) trains on thinner neighbourhoods than it is evaluated on, and still learns."""
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    ds, _ = load_dataset("ogbl-connectome")
    monkeypatch.setattr("graphkit.train.link.FULL_BATCH_PAIRS", 512)
    full = _fit(ds, tmp_path, "full")
    exact = _fit(ds, tmp_path, "exact", fanouts=[-1, -1], batch_size=512)
    sampled = _fit(ds, tmp_path, "sampled", batch_size=512)
    assert full["auc"] > 0.85 and exact["auc"] > 0.85 and sampled["auc"] > 0.8, (full, exact, sampled)
    assert abs(full["auc"] - exact["auc"]) < 0.02, (full, exact)
    assert abs(full["hits@50"] - exact["hits@50"]) < 0.1, (full, exact)


@pytest.mark.parametrize("model", ["ncn", "ncnc"])
def test_structure_predictors_train_in_mini_batches(fixtures, tmp_path, model):
    out = _run(fixtures, tmp_path, model, model=model, epochs=3, batch_size=1024, layers=1)
    rows = [json.loads(x) for x in (tmp_path / model / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["loss"] < rows[0]["loss"] and out["final"]["test"]["auc"] > 0.6


def test_ncn_reads_a_symmetric_sub_graph(fixtures, monkeypatch):
    """A sampled batch holds its edges one way (neighbour -> seed); common neighbours are rows of an undirected
    adjacency, so NCN gets the sub-graph with both directions, less the batch's positives under NCNC."""
    from graphkit.train.link import LinkTask

    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    ds, _ = load_dataset("ogbl-connectome")
    for model in ("ncn", "ncnc"):
        task = LinkTask(ds, TrainConfig(task="link", model=model, hidden=8, batch_size=500).resolved(),
                        torch.device("cpu"))
        seen = []
        forward = task.model.predictor.forward
        monkeypatch.setattr(task.model.predictor, "forward",
                            lambda h, adj, pairs, remove=None: seen.append((adj, pairs)) or forward(h, adj, pairs))
        b = next(iter(task.batches()))
        task.loss(b)
        adj, pairs = seen[0]  # positives, then as many negatives
        pos = pairs[: pairs.size(0) // 2]
        n = adj.num_nodes
        keys = set((adj.edge_index[0] * n + adj.edge_index[1]).tolist())
        assert keys == set((adj.edge_index[1] * n + adj.edge_index[0]).tolist())  # symmetric
        pos_keys = set((pos[:, 0] * n + pos[:, 1]).tolist())
        assert (model == "ncnc") == (not keys & pos_keys)  # target link removal for NCNC only
