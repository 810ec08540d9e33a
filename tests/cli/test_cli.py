"""`graphkit` end to end: training on each fixture in a subprocess, kill + resume, and one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphkit.cli import main
from graphkit.train.trainer import CRASH_ENV

SMALL = ["--hidden", "16", "--layers", "1", "--batch-size", "2048"]


def _cli(args, fixtures, env=None, timeout=300):
    full_env = {**os.environ, "GRAPHKIT_FIXTURES": str(fixtures), **(env or {})}
    full_env.pop(CRASH_ENV, None) if not env or CRASH_ENV not in env else None
    return subprocess.run([sys.executable, "-m", "graphkit", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def _history(run_dir: Path):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("args, metric", [
    (["--epochs", "3"], "acc"),  # no --dataset: the embedded default, ogbn-drosophila
    (["--task", "link", "--dataset", "ogbl-connectome", "--model", "ncn", "--epochs", "1"], "hits@20"),
    (["--task", "link", "--model", "ncnc", "--epochs", "2"], "hits@20"),  # no --dataset: ogbl-connectome
    (["--task", "graph", "--dataset", "ogbg-freesolv", "--epochs", "1"], "rmse"),
])
def test_train_each_task(fixtures, tmp_path, args, metric):
    out = tmp_path / "run"
    proc = _cli(["train", *args, *SMALL, "--out", str(out)], fixtures)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == metric and "Traceback" not in proc.stderr
    assert f"split  {metric}" in proc.stdout and "test " in proc.stdout  # the final table
    assert (out / "curves.png").stat().st_size > 1000 and (out / "best.pt").is_file()


def test_kill_mid_epoch_then_resume_matches_uninterrupted(fixtures, tmp_path):
    # link prediction: 3 steps per epoch, negatives sampled every step, so the RNG state must be exact
    args = ["train", "--dataset", "ogbl-connectome", "--epochs", "3", *SMALL]
    whole = _cli([*args, "--out", str(tmp_path / "whole")], fixtures)
    assert whole.returncode == 0, whole.stderr[-2000:]
    crashed = _cli([*args, "--out", str(tmp_path / "cut")], fixtures, env={CRASH_ENV: "5"})  # dies in epoch 2
    assert crashed.returncode == 99 and not (tmp_path / "cut" / "summary.json").exists()
    assert len(_history(tmp_path / "cut")) == 1
    resumed = _cli(["train", "--resume", "--out", str(tmp_path / "cut")], fixtures)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout
    assert _history(tmp_path / "cut") == _history(tmp_path / "whole")
    final = [json.loads((tmp_path / d / "summary.json").read_text())["final"] for d in ("cut", "whole")]
    assert final[0] == final[1]


def _one_line_error(capsys, argv, code):
    assert main(argv) == code
    lines = capsys.readouterr().err.strip().splitlines()
    err = "\n".join(ln for ln in lines if not ln.startswith("graphkit: downloading "))  # a notice, not an error
    assert err.startswith("graphkit: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_corrupted_checkpoint_is_reported(fixtures, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", *SMALL, "--out", str(out), "--progress", "off"]) == 0
    (out / "last.pt").write_bytes((out / "last.pt").read_bytes()[:300])
    err = _one_line_error(capsys, ["train", "--resume", "--out", str(out)], 1)
    assert "corrupted or truncated" in err and str(out / "last.pt") in err
    err = _one_line_error(capsys, ["train", "--out", str(out)], 1)
    assert "already holds a run" in err


@pytest.mark.parametrize("argv, code, text", [
    (["train", "--epochs", "many"], 2, "invalid int value"),
    (["train", "--task", "edge"], 2, "invalid choice"),
    (["train", "--epochs", "0"], 2, "--epochs must be at least 1"),
    (["train", "--dataset", "ogbn-nope"], 1, "unknown data set 'ogbn-nope'"),
    (["train", "--dataset", "no-such-set"], 1, "unknown data set 'no-such-set'"),
    (["train", "--task", "graph", "--dataset", "ogbn-drosophila"], 1, "is for --task node"),
    (["train", "--config", "/nonexistent.yaml"], 1, "does not exist"),
    (["train", "--resume", "--out", "/nonexistent/run"], 1, "nothing to resume"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_bad_arguments_one_line(fixtures, capsys, monkeypatch, argv, code, text):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    assert text in _one_line_error(capsys, argv, code)


def test_missing_network_one_line(tmp_path, capsys, monkeypatch):
    lines = (Path(__file__).parents[2] / "datasets" / "fixtures" / "master.csv").read_text().splitlines()
    col = lines[0].split(",").index("ogbn-drosophila")
    url = "http://127.0.0.1:9/ogb/drosophila.zip"
    rows = [f"{r.split(',')[0]},{url if r.startswith('url,') else r.split(',')[col]}" for r in lines[1:]]
    (tmp_path / "master.csv").write_text(",ogbn-offline\n" + "\n".join(rows) + "\n")  # no data folder beside it
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(tmp_path))
    err = _one_line_error(capsys, ["train", "--dataset", "ogbn-offline", "--epochs", "1"], 1)
    assert "cannot download ogbn-offline" in err and url in err and str(tmp_path) in err


def test_datasets_and_info(fixtures, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "ogbn-arxiv" in listing and "ogbg-molhiv" in listing and "ogbl-connectome" in listing
    assert main(["info"]) == 0
    info = capsys.readouterr().out
    assert "torch " in info and "kernel backend: " in info and "devices: cpu" in info


def test_yaml_config_with_flag_override(fixtures, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    cfg = tmp_path / "run.yaml"
    cfg.write_text("dataset: ogbn-drosophila\nmodel: sage\nepochs: 5\nhidden: 8\nscheduler: none\n")
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--epochs", "2", "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert (saved["model"], saved["epochs"], saved["hidden"], saved["scheduler"]) == ("sage", 2, 8, "none")
    assert "graphkit train: sage on ogbn-drosophila" in capsys.readouterr().out
    cfg.write_text("epoch: 3\n")
    assert "unknown setting 'epoch'" in _one_line_error(capsys, ["train", "--config", str(cfg)], 1)


def test_second_process_on_a_run_folder_is_refused_in_one_line(fixtures, tmp_path):  # reliability conc.py
    from graphkit.train.rundir import RunLock

    out = tmp_path / "run"
    with RunLock(out):  # this test process is the run in progress
        proc = _cli(["train", "--epochs", "2", *SMALL, "--out", str(out)], fixtures)
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("graphkit: error:")]
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert len(errors) == 1 and f"in use by another process (pid {os.getpid()})" in errors[0], errors
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written into the busy folder
    (out / ".lock").write_text("999999999\n")  # left by a killed run: taken over
    proc = _cli(["train", "--epochs", "2", *SMALL, "--out", str(out)], fixtures)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (out / ".lock").exists() and [ln["epoch"] for ln in _history(out)] == [1, 2]


def test_divergence_is_one_line(fixtures, tmp_path):
    proc = _cli(["train", "--epochs", "30", "--lr", "1e6", "--clip", "0", *SMALL, "--out", str(tmp_path / "d")],
                fixtures)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("graphkit: error:")]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(errors) == 1 and "training diverged at epoch" in errors[0] and "lower --lr" in errors[0]
