"""Data-parallel training on localhost (gloo, 127.0.0.1): 2 ranks match 1 rank; a dead rank fails the other."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from graphkit.train.distributed import free_port, launch, strip_nproc

pytestmark = pytest.mark.heavy

ARGS = ["--nodes", "1500", "--epochs", "4", "--batch-size", "128", "--fanouts", "8,4"]


def _env() -> dict:
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def test_strip_nproc() -> None:
    assert strip_nproc(["train", "--nproc", "2", "--epochs", "3", "--nproc=4"]) == ["train", "--epochs", "3"]


def test_two_ranks_match_one(tmp_path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    subprocess.run([sys.executable, "-m", "graphkit.train.distributed", *ARGS, "--out", str(one)],
                   check=True, env=_env(), timeout=120)
    rc = launch(2, [*ARGS, "--out", str(two), "--timeout", "30"], module="graphkit.train.distributed")
    assert rc == 0
    m1, m2 = json.loads(one.read_text()), json.loads(two.read_text())
    assert m1["world_size"] == 1 and m2["world_size"] == 2
    assert m1["test"] > 0.8, m1  # both learned the task ...
    assert abs(m1["test"] - m2["test"]) < 0.04, (m1, m2)  # ... to the same accuracy within noise


def test_killed_rank_fails_the_other_quickly(tmp_path) -> None:
    port = free_port()
    env = dict(_env(), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2")
    cmd = [sys.executable, "-m", "graphkit.train.distributed", *ARGS, "--timeout", "10", "--kill-rank", "1",
           "--kill-step", "2"]
    start = time.monotonic()
    procs = [subprocess.Popen(cmd, env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(2)]
    try:
        outs = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    elapsed = time.monotonic() - start
    assert procs[1].returncode == 17, outs[1][1][-2000:]
    assert procs[0].returncode not in (0, None), outs[0][1][-2000:]
    assert "rank 0 of 2: collective" in outs[0][1] and "another rank probably died" in outs[0][1], outs[0][1][-2000:]
    assert elapsed < 60, elapsed
