"""Resume you can trust: the folder named is the folder used (t02), a fresh run never appends to an old log
(t03), mini-batch epochs replay after a restart (t04), best.pt is checked first, schedules follow --epochs,
other changed settings are refused, and a folder in use is refused (conc)."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from graphkit import Graph
from graphkit.train import CheckpointError, RunError, TrainConfig, run
from graphkit.train.distributed import NodeBatches


def _run(fixtures, out, resume=False, **kw):
    cfg = TrainConfig(root=str(fixtures), out=str(out), **({} if resume else {"hidden": 16}), **kw)
    return run(cfg, resume=resume, progress=False, echo=lambda *a: None)


def _epochs(out):
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_resume_continues_the_folder_named_not_the_one_recorded(fixtures, tmp_path):  # t02
    a, b = tmp_path / "A", tmp_path / "B"
    _run(fixtures, a, epochs=2)
    shutil.copytree(a, b)
    before = {p.name: p.read_bytes() for p in a.iterdir()}
    out = _run(fixtures, b, resume=True, epochs=4)
    assert out["run_dir"] == str(b) and _epochs(b) == [1, 2, 3, 4]
    assert {p.name: p.read_bytes() for p in a.iterdir()} == before  # the original is untouched
    assert json.loads((b / "summary.json").read_text())["epochs_run"] == 4


def test_fresh_run_does_not_append_to_an_old_log(fixtures, tmp_path):  # t03
    _run(fixtures, tmp_path, epochs=3)
    (tmp_path / "last.pt").unlink()  # as a crash before the first last.pt leaves it
    (tmp_path / "best.pt").unlink()
    _run(fixtures, tmp_path, epochs=2)
    assert _epochs(tmp_path) == [1, 2]


def test_node_batches_replay_an_epoch_after_a_restart():  # t04 (the batches of --nproc mini-batch training)
    torch.manual_seed(0)
    g = Graph(x=torch.randn(100, 4), edge_index=torch.randint(0, 100, (2, 600)))
    train = torch.arange(60)

    def seeds(nb):
        return [b.n_id[: b.batch_size].tolist() for b in nb]

    run_ = NodeBatches(g, train, [3, 3], batch_size=16, seed=0)
    e1, _, e3 = seeds(run_), seeds(run_), seeds(run_)  # uninterrupted: epochs 1, 2, 3
    assert e1 != e3
    resumed = NodeBatches(g, train, [3, 3], batch_size=16, seed=0)  # a process restarted after epoch 2
    resumed.epoch = 2  # what the Trainer sets through NodeTask.set_epoch
    assert seeds(resumed) == e3


def test_mini_batch_resume_is_bit_identical(fixtures, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _run(fixtures, whole, epochs=3, batch_size=32, scheduler="none")
    _run(fixtures, cut, epochs=1, batch_size=32, scheduler="none")  # as if stopped after epoch 1
    _run(fixtures, cut, resume=True, epochs=3)

    def history(out):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                for line in (out / "metrics.jsonl").read_text().splitlines()]

    assert len(history(cut)) == 3 and history(cut) == history(whole)


def test_damaged_best_checkpoint_is_refused_before_training(fixtures, tmp_path):
    _run(fixtures, tmp_path, epochs=2, lr=1e-9)  # nothing improves after epoch 1: best.pt is epoch 1's
    (tmp_path / "best.pt").write_bytes((tmp_path / "best.pt").read_bytes()[:100])
    last = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(CheckpointError, match="best.pt is corrupted or truncated"):
        _run(fixtures, tmp_path, resume=True, epochs=5)
    assert _epochs(tmp_path) == [1, 2] and (tmp_path / "last.pt").read_bytes() == last  # nothing trained


def test_best_checkpoint_cut_after_last_is_rebuilt(fixtures, tmp_path):
    _run(fixtures, tmp_path, epochs=1)  # epoch 1 is the best: last.pt holds the best model itself
    (tmp_path / "best.pt").write_bytes((tmp_path / "best.pt").read_bytes()[:100])  # a kill mid-write
    out = _run(fixtures, tmp_path, resume=True, epochs=2)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == out["best_epoch"] and best["metrics"]["valid"] == out["final"]["valid"]


def test_longer_resume_follows_the_longer_cosine_schedule(fixtures, tmp_path):
    _run(fixtures, tmp_path / "short", epochs=3)
    _run(fixtures, tmp_path / "short", resume=True, epochs=6)
    _run(fixtures, tmp_path / "long", epochs=6)
    lrs = {d: [json.loads(x)["lr"] for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]
           for d in ("short", "long")}
    assert lrs["short"][3:] == lrs["long"][3:] and lrs["short"][3] == pytest.approx(0.005)
    assert lrs["short"][2] < lrs["short"][3]  # the 3-epoch run had annealed further; the longer one re-times it


def test_changed_settings_on_resume_are_refused_in_one_line(fixtures, tmp_path):
    _run(fixtures, tmp_path, epochs=2)
    for change, text in (({"lr": 0.05}, "lr 0.01 -> 0.05"), ({"model": "sage"}, "model 'gcn' -> 'sage'")):
        with pytest.raises(RunError, match=text) as err:
            _run(fixtures, tmp_path, resume=True, epochs=4, **change)
        assert "\n" not in str(err.value)
    assert _epochs(tmp_path) == [1, 2]


def test_folder_in_use_is_refused(fixtures, tmp_path, lock_holder):  # conc: same time, resume while running
    fresh, busy = tmp_path / "fresh", tmp_path / "busy"
    _run(fixtures, busy, epochs=2)
    holders = [lock_holder(fresh), lock_holder(busy)]
    with pytest.raises(RunError, match=rf"is in use by another process \(pid {holders[0].pid}\)"):
        _run(fixtures, fresh, epochs=2)
    with pytest.raises(RunError, match=rf"is in use by another process \(pid {holders[1].pid}\)"):
        _run(fixtures, busy, resume=True, epochs=4)
    assert not (fresh / "config.json").exists() and _epochs(busy) == [1, 2]  # nothing of theirs touched
    for h in holders:
        h.kill()
        h.wait()
    out = _run(fixtures, fresh, epochs=2)  # a dead holder's lock is taken over
    assert out["epochs_run"] == 2 and sorted(p.name for p in fresh.iterdir()) == [
        "best.pt", "config.json", "curves.png", "last.pt", "metrics.jsonl", "summary.json"]


@pytest.mark.parametrize("damage", ["no rng", "no best", "bad rng", "negative epoch"])
def test_a_last_checkpoint_that_loads_but_is_wrong_is_one_clear_error(fixtures, tmp_path, damage):  # finding 16
    _run(fixtures, tmp_path, epochs=1)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    if damage == "no rng":
        del state["rng"]
    elif damage == "no best":
        del state["best"]
    elif damage == "bad rng":
        state["rng"] = "not a state"
    else:
        state["epoch"] = -5
    torch.save(state, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="last.pt does not fit this model/config") as err:
        _run(fixtures, tmp_path, resume=True, epochs=3)
    assert "\n" not in str(err.value) and _epochs(tmp_path) == [1]
