"""`graphkit train --nproc 2`: two DDP workers on 127.0.0.1 train the model one process trains."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from graphkit.testing.ogb_fixtures import copy_fixtures
from graphkit.train.trainer import CRASH_ENV

pytestmark = pytest.mark.heavy

ARGS = ["train", "--epochs", "15", "--hidden", "16", "--layers", "2"]


def _cli(args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "graphkit", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_two_processes_match_one(tmp_path):
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy_fixtures(tmp_path / "fixtures"))}
    one = _cli([*ARGS, "--out", str(tmp_path / "one")], env)
    two = _cli([*ARGS, "--nproc", "2", "--out", str(tmp_path / "two")], env)
    assert one.returncode == 0, one.stderr[-2000:]
    assert two.returncode == 0, two.stderr[-2000:]
    # rank 0 alone prints the summary and owns the run folder; rank 1 keeps its checkpoints apart
    assert two.stdout.count("split  acc") == 1
    assert (tmp_path / "two" / ".rank1" / "last.pt").is_file()
    finals = [json.loads((tmp_path / d / "summary.json").read_text())["final"] for d in ("one", "two")]
    # full batch: the two ranks' losses cover half of the training nodes each and DDP averages the
    # gradients, which is the one-process gradient up to summation order
    for split in ("train", "valid", "test"):
        assert abs(finals[0][split]["acc"] - finals[1][split]["acc"]) <= 0.05, (split, finals)


def test_nproc_refuses_link_prediction_in_one_line(tmp_path):
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy_fixtures(tmp_path / "fixtures"))}
    proc = _cli(["train", "--nproc", "2", "--dataset", "ogbl-connectome", "--out", str(tmp_path / "r")], env)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("graphkit: error:")]
    assert errors == ["graphkit: error: --nproc supports node prediction; ogbl-connectome is a link prediction "
                      "data set"] and "Traceback" not in proc.stderr


def test_two_process_mini_batch_resume_is_bit_identical(tmp_path):  # reliability t04, end to end
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy_fixtures(tmp_path / "fixtures"))}
    env.pop(CRASH_ENV, None)
    args = ["train", "--epochs", "3", "--hidden", "16", "--layers", "2", "--batch-size", "32", "--nproc", "2"]
    whole = _cli([*args, "--out", str(tmp_path / "whole")], env)
    assert whole.returncode == 0, whole.stderr[-2000:]
    cut = _cli([*args, "--out", str(tmp_path / "cut")], {**env, CRASH_ENV: "6"})  # both ranks die in epoch 2
    assert cut.returncode != 0 and not (tmp_path / "cut" / "summary.json").exists()
    resumed = _cli([*args, "--resume", "--out", str(tmp_path / "cut")], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    def history(d):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                for line in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]

    assert len(history("cut")) == 3 and history("cut") == history("whole")
