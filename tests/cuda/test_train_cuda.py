"""`graphkit train --device cuda` end to end with mixed precision (node full-batch and mini-batch through the UVA
feature gather, link and graph tasks) on the OGB-format fixtures, and DDP over NCCL where two GPUs exist."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import torch

from graphkit.testing.ogb_fixtures import copy_fixtures

pytestmark = pytest.mark.cuda


def _train(tmp_path: Path, extra: List[str], name: str) -> dict:
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy_fixtures(tmp_path / "fixtures"))}
    out = tmp_path / name
    args = ["train", "--device", "cuda", "--amp", "on", "--epochs", "2", "--hidden", "16", "--layers", "2",
            "--progress", "off", "--out", str(out), *extra]
    proc = subprocess.run([sys.executable, "-m", "graphkit", *args], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("extra", [["--dataset", "ogbn-drosophila"],
                                   ["--dataset", "ogbn-drosophila", "--batch-size", "32"],
                                   ["--dataset", "ogbl-connectome"],
                                   ["--dataset", "ogbg-freesolv"]], ids=["node", "node-minibatch", "link", "graph"])
def test_train_on_cuda_with_amp(dev, tmp_path, extra):
    summary = _train(tmp_path, extra, "run")
    scores = [v for split in summary["final"].values() for v in split.values() if isinstance(v, (int, float))]
    assert scores and all(math.isfinite(v) for v in scores), summary["final"]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP over NCCL needs two GPUs (NCCL refuses two ranks "
                                                          "on one device)")
def test_ddp_over_nccl(dev, tmp_path):
    summary = _train(tmp_path, ["--dataset", "ogbn-drosophila", "--nproc", "2"], "ddp")
    assert summary["final"]["test"]
