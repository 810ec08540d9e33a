"""The Trainer's options on a small supervised task: optimizer hook, monitor direction, deterministic,
mixed precision (CPU), divergence, callbacks, the task registry."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from graphkit.train import DivergenceError, Task, TrainConfig, Trainer, register_task
from graphkit.train.base import task_class
from graphkit.train.config import TASK_DEFAULTS
from graphkit.train.custom import SupervisedTask, fit_supervised, rmse
from graphkit.train.trainer import deterministic_mode


def _task(model=None, **kw):
    torch.manual_seed(0)
    x = torch.randn(80, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    ids = torch.arange(80)
    split = {"train": ids[:48], "valid": ids[48:64], "test": ids[64:]}
    return SupervisedTask(model or torch.nn.Linear(4, 2), lambda idx: x[idx], y, split, batch_size=16, **kw)


def _cfg(**kw):
    base = dict(epochs=4, lr=0.05, weight_decay=0.0, patience=10, device="cpu")
    return TrainConfig(**{**base, **kw})


def test_optimizer_and_weight_decay_from_config(tmp_path):
    trainer = Trainer(_task(), _cfg(optimizer="sgd", weight_decay=1e-3), tmp_path)
    assert isinstance(trainer.opt, torch.optim.SGD)
    assert trainer.opt.param_groups[0]["weight_decay"] == 1e-3 and trainer.opt.param_groups[0]["lr"] == 0.05
    trainer.fit()
    assert isinstance(Trainer(_task(), _cfg(optimizer="adamw"), tmp_path / "b").opt, torch.optim.AdamW)
    with pytest.raises(ValueError, match="optimizer must be one of adam, adamw, sgd, got 'lbfgs'"):
        Trainer(_task(), _cfg(optimizer="lbfgs"), tmp_path / "c")
    assert not (tmp_path / "c" / ".lock").exists()  # a failed construction holds no lock


def test_configure_optimizers_hook_is_used(tmp_path):
    class Frozen(SupervisedTask):
        def configure_optimizers(self, cfg):
            return torch.optim.SGD(self.model.parameters(), lr=0.0)

    torch.manual_seed(0)
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    ids = torch.arange(40)
    task = Frozen(torch.nn.Linear(3, 2), lambda i: x[i], y, {"train": ids[:20], "valid": ids[20:30], "test": ids[30:]})
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    Trainer(task, _cfg(epochs=2), tmp_path).fit()
    assert all(torch.equal(before[k], v) for k, v in task.model.state_dict().items())  # lr 0: nothing moved


def test_monitor_declares_direction(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(80, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    ids = torch.arange(80)
    split = {"train": ids[:48], "valid": ids[48:64], "test": ids[64:]}
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0))
    with pytest.raises(ValueError, match="metric 'mse' has no known direction"):  # never guessed from the name
        SupervisedTask(model, lambda i: x[i], y, split, loss_fn=F.mse_loss, metric="mse", score_fn=rmse)
    task = SupervisedTask(model, lambda i: x[i], y, split, loss_fn=F.mse_loss, metric="mse", score_fn=rmse,
                          mode="min", batch_size=0)
    assert task.monitor == ("valid", "mse", "min")
    res = fit_supervised(task, tmp_path, epochs=12, lr=0.1, verbose=False)
    rows = [json.loads(r) for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert res["final"]["valid"]["mse"] == min(r["valid"]["mse"] for r in rows)
    assert json.loads((tmp_path / "config.json").read_text())["task"] is None  # not faked as "graph" any more

    class NoMonitor(Task):
        model = torch.nn.Linear(1, 1)

    with pytest.raises(ValueError, match="NoMonitor must declare monitor"):
        Trainer(NoMonitor(), _cfg(), tmp_path / "n")


def test_deterministic_is_applied_by_the_trainer_and_only_when_on(tmp_path, monkeypatch):
    calls = []
    real = torch.use_deterministic_algorithms
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda *a, **k: (calls.append((a, k)), real(*a, **k)))
    threads = torch.get_num_threads()
    seen = []
    task = _task()
    loss = task.loss
    task.loss = lambda b: (seen.append(torch.get_num_threads()), loss(b))[1]
    Trainer(task, _cfg(epochs=1, deterministic=False), tmp_path / "off").fit()
    assert seen and set(seen) == {threads}
    seen.clear()
    Trainer(task, _cfg(epochs=1, deterministic=True), tmp_path / "on").fit()
    assert set(seen) == {1} and torch.get_num_threads() == threads
    # never called on a CPU (one thread decides there; its first call costs seconds of start-up) ...
    assert calls == []
    with deterministic_mode("cuda"):  # ... and set, then restored, for a GPU
        assert torch.are_deterministic_algorithms_enabled()
    assert calls[0] == ((True,), {"warn_only": True}) and len(calls) == 2
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("amp, dtype, scaled", [("bf16", torch.bfloat16, False), ("fp16", torch.float16, True),
                                                ("on", torch.bfloat16, False), ("off", torch.float32, False)])
def test_mixed_precision_on_cpu(tmp_path, amp, dtype, scaled):
    seen = []

    def loss_fn(out, y):
        seen.append(out.dtype)
        return F.cross_entropy(out.float(), y)

    task = _task(loss_fn=loss_fn)
    trainer = Trainer(task, _cfg(epochs=3, amp=amp), tmp_path)
    assert trainer.scaler.is_enabled() == scaled
    res = trainer.fit()
    assert set(seen) == {dtype}  # the forward ran under autocast in that dtype
    rows = [json.loads(r) for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["loss"] < rows[0]["loss"] and res["final"]["test"]["acc"] >= 0.75
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ("scale" in state["scaler"]) == scaled  # the loss scale is checkpointed with the rest
    resumed = Trainer(_task(loss_fn=loss_fn), _cfg(epochs=4, amp=amp), tmp_path)
    resumed.resume()
    if scaled:
        assert resumed.scaler.get_scale() == trainer.scaler.get_scale()


@pytest.mark.parametrize("lr, poison, match", [(1e6, False, "over 10000 times the first step's"),
                                               (0.01, True, "the loss is nan")])
def test_divergence_stops_with_one_line(tmp_path, lr, poison, match):
    torch.manual_seed(0)
    x, y = torch.randn(64, 4) * 10, torch.randn(64) * 10
    if poison:
        y[:48] = float("nan")
    ids = torch.arange(64)
    task = SupervisedTask(torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1),
                                              torch.nn.Flatten(0)),
                          lambda i: x[i], y, {"train": ids[:48], "valid": ids[48:56], "test": ids[56:]},
                          loss_fn=F.mse_loss, metric="rmse", score_fn=rmse, batch_size=8)
    with pytest.raises(DivergenceError, match=match) as err:
        Trainer(task, _cfg(epochs=50, lr=lr, clip=0.0), tmp_path).fit()
    assert "training diverged at epoch" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, FloatingPointError)  # the CLI's one-line handler catches it


def test_callbacks(tmp_path):
    epochs, steps = [], []
    Trainer(_task(), _cfg(epochs=2), tmp_path, on_epoch_end=epochs.append, on_step=lambda e, s: steps.append((e, s))).fit()
    assert [r["epoch"] for r in epochs] == [1, 2] and all(r["seconds"] > 0 and "valid" in r for r in epochs)
    assert steps == [(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (1, 6)]  # 48 training samples, batches of 16


def test_register_task_and_model(tmp_path):
    from graphkit.train.models import BUILDERS, build_gnn, register_model

    @register_model("lin")
    def lin(i, h, layers, o, p):
        return torch.nn.Linear(i, o)

    try:
        assert build_gnn("LIN", 3, 8, 2, 5, 0.0).out_features == 5

        @register_task("toy", defaults={**TASK_DEFAULTS["node"], "epochs": 3, "batch_size": 16})
        class Toy(SupervisedTask):
            pass

        assert task_class("toy") is Toy and TrainConfig(task="toy").resolved().epochs == 3
        with pytest.raises(ValueError, match="task must be one of node, link, graph, hetero, kg, recsys, toy, got 'nope'"):
            task_class("nope")
    finally:
        BUILDERS.pop("lin", None)
        TASK_DEFAULTS.pop("toy", None)
        from graphkit.train.base import TASK_CLASSES

        TASK_CLASSES.pop("toy", None)
