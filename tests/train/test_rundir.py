"""Run folders: the lock (a live holder refuses, a dead one is taken over), metrics.jsonl, temporary files,
and which settings a resume may change (reliability findings 5, 6, 8, 17)."""
from __future__ import annotations

import os

import pytest

from graphkit.train.config import TrainConfig
from graphkit.train.rundir import MetricsLog, RunError, RunLock, resume_config


def test_second_process_is_refused_and_a_dead_holder_is_taken_over(tmp_path, lock_holder):
    holder = lock_holder(tmp_path)
    with pytest.raises(RunError, match=rf"run folder {tmp_path} is in use by another process "
                                       rf"\(pid {holder.pid}\); wait for it") as err:
        RunLock(tmp_path).acquire()
    assert "\n" not in str(err.value)
    holder.kill()
    holder.wait()
    assert (tmp_path / ".lock").read_text().strip() == str(holder.pid)  # its stale lock file is still there
    (tmp_path / ".last.pt.tmpab12").write_bytes(b"half a checkpoint")  # what a kill mid-write leaves
    with RunLock(tmp_path) as lock:
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
        assert not (tmp_path / ".last.pt.tmpab12").exists()
        with RunLock(tmp_path):  # re-entrant within one process (run() and its Trainer)
            pass
        assert lock.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # released: no lock file, no temporary file


def test_metrics_log_cuts_a_torn_line_and_later_epochs(tmp_path):
    log = MetricsLog(tmp_path)
    log.rewrite([{"epoch": 1}, {"epoch": 2}])
    log.append({"epoch": 3})
    with open(log.path, "a") as f:
        f.write('{"epoch": 4, "lo')  # a crash mid-line
    assert [r["epoch"] for r in log.read()] == [1, 2, 3]
    assert [r["epoch"] for r in log.read(up_to=2)] == [1, 2]


def test_resume_config_applies_safe_changes_and_refuses_the_rest(tmp_path):
    saved = TrainConfig(task="node", dataset="ogbn-drosophila", out="/elsewhere/original").resolved()
    (tmp_path / "config.json").write_text(saved.to_json())
    cfg = resume_config(tmp_path, TrainConfig(epochs=500, patience=7, deterministic=False, lr=saved.lr))
    assert (cfg.out, cfg.epochs, cfg.patience, cfg.deterministic) == (str(tmp_path), 500, 7, False)
    assert cfg.lr == saved.lr and cfg.model == saved.model
    with pytest.raises(RunError, match=r"cannot change model 'gcn' -> 'sage', lr 0.01 -> 0.05") as err:
        resume_config(tmp_path, TrainConfig(lr=0.05, model="sage"))
    assert "\n" not in str(err.value)
    with pytest.raises(RunError, match="nothing to resume"):
        resume_config(tmp_path / "missing", TrainConfig())
