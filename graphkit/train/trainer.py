"""The one training loop: optimiser, LR schedule, clipping, mixed precision, checkpoints, early stopping.

Per epoch: one pass over ``task.batches()``, then ``task.evaluate()``. The model with the best validation
metric is kept (``best.pt``); training stops after ``patience`` epochs without improvement. At the end of every
epoch ``last.pt`` stores everything needed to continue (model, optimiser, scheduler, RNG states, early-stopping
state), so ``resume=True`` after a crash replays the remaining epochs exactly: on a CPU the resumed run's
metrics equal an uninterrupted run's bit for bit.

Files in the run folder: ``config.json``, ``metrics.jsonl`` (one line per epoch), ``best.pt``, ``last.pt``,
``curves.png`` and ``summary.json``.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

from graphkit.train.base import Task
from graphkit.train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import higher_is_better
from graphkit.train.plots import plot_curves

__all__ = ["Trainer", "seed_everything", "CRASH_ENV"]

CHECKPOINT_FORMAT = 1
# Test hook: the process exits hard (no cleanup, like SIGKILL) after this many optimiser steps.
CRASH_ENV = "GRAPHKIT_CRASH_AFTER_STEPS"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig) -> Any:
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, cfg.epochs // 4), gamma=0.5)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0)


class Trainer:
    """Train ``task.model`` under ``cfg``, writing into ``run_dir``.

    Args:
        task: a :class:`~graphkit.train.base.Task` (its model already on ``device``).
        cfg: a resolved :class:`TrainConfig`.
        run_dir: the run folder (created).
        device: where the task lives; bfloat16 autocast is used there when ``cfg.amp`` allows and it is a GPU.
        progress: show a tqdm bar per epoch (default: only when stdout is a terminal).
        on_epoch_end: called with each epoch's ``metrics.jsonl`` row once it is saved (``graphkit train``
            prints it; see :class:`~graphkit.train.progress.EpochReport`).
    """

    def __init__(self, task: Task, cfg: TrainConfig, run_dir: Path, device: torch.device,
                 progress: Optional[bool] = None,
                 on_epoch_end: Optional[Callable[[Dict[str, Any]], None]] = None):
        self.task, self.cfg, self.dir, self.device = task, cfg, Path(run_dir), device
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model = task.model
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = _scheduler(self.opt, cfg)
        self.amp = cfg.amp == "on" or (cfg.amp == "auto" and device.type == "cuda")
        self.progress = sys.stdout.isatty() if progress is None else progress
        self.on_epoch_end = on_epoch_end
        self.higher = higher_is_better(task.metric)
        self.epoch, self.step = 0, 0
        self.best: Dict[str, Any] = {"epoch": 0, "valid": -math.inf if self.higher else math.inf, "bad_epochs": 0}
        crash = os.environ.get(CRASH_ENV, "")
        self.crash_after = int(crash) if crash.isdigit() else 0

    # ------------------------------------------------------------------------------------------ state
    def state(self) -> Dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "epoch": self.epoch, "step": self.step,
                "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "rng": rng_state(), "best": dict(self.best)}

    def resume(self) -> None:
        """Continue from ``last.pt``; ``metrics.jsonl`` is cut back to the checkpoint's epoch."""
        state = load_checkpoint(self.dir / "last.pt")
        try:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.sched.load_state_dict(state["scheduler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {self.dir / 'last.pt'} does not fit this model/config "
                                  f"({str(exc).splitlines()[0][:160]})") from None
        set_rng_state(state["rng"])
        self.epoch, self.step, self.best = int(state["epoch"]), int(state["step"]), dict(state["best"])
        kept = [h for h in self._history() if h["epoch"] <= self.epoch]
        self._write_history(kept)

    def _history(self) -> List[Dict[str, Any]]:
        path = self.dir / "metrics.jsonl"
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut off by a crash
                break
        return rows

    def _write_history(self, rows: List[Dict[str, Any]]) -> None:
        tmp = self.dir / "metrics.jsonl.tmp"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.dir / "metrics.jsonl")

    # ------------------------------------------------------------------------------------------ loop
    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16) if self.amp else nullcontext()

    def _train_epoch(self) -> float:
        from tqdm.auto import tqdm

        self.model.train()
        total, count = 0.0, 0
        bar = tqdm(self.task.batches(), desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", leave=False,
                   disable=not self.progress, unit="step")
        for batch in bar:
            self.opt.zero_grad(set_to_none=True)
            with self._autocast():
                loss = self.task.loss(batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss is {loss.item()} at epoch {self.epoch + 1}; "
                                         "lower --lr or turn on clipping")
            loss.backward()
            if self.cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip)
            self.opt.step()
            self.step += 1
            total, count = total + float(loss.detach()), count + 1
            bar.set_postfix(loss=f"{total / count:.4f}")
            if self.crash_after and self.step >= self.crash_after:
                os._exit(99)  # the test hook: die mid-epoch without flushing or saving anything
        bar.close()
        return total / max(count, 1)

    def _evaluate(self) -> Dict[str, Dict[str, float]]:
        self.model.eval()
        with self._autocast():
            return self.task.evaluate()

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value > self.best["valid"] if self.higher else value < self.best["valid"]

    def fit(self) -> Dict[str, Any]:
        """Train to the end (or early stop); returns the best model's metrics per split."""
        metric = self.task.metric
        start = time.perf_counter()
        while self.epoch < self.cfg.epochs and self.best["bad_epochs"] < max(self.cfg.patience, 1):
            t0 = time.perf_counter()
            loss = self._train_epoch()
            lr = self.opt.param_groups[0]["lr"]
            self.sched.step()
            self.epoch += 1
            scores = self._evaluate()
            row = {"epoch": self.epoch, "loss": loss, "lr": lr, **scores, "seconds": time.perf_counter() - t0}
            self._write_history(self._history() + [row])
            if self._improved(scores["valid"][metric]):
                self.best.update(epoch=self.epoch, valid=scores["valid"][metric], bad_epochs=0)
                save_checkpoint({"format": CHECKPOINT_FORMAT, "epoch": self.epoch,
                                 "model": self.model.state_dict(), "metrics": scores}, self.dir / "best.pt")
            else:
                self.best["bad_epochs"] += 1
            save_checkpoint(self.state(), self.dir / "last.pt")
            if self.on_epoch_end is not None:
                self.on_epoch_end(row)
        history = self._history()
        if (self.dir / "best.pt").is_file():
            self.model.load_state_dict(load_checkpoint(self.dir / "best.pt")["model"])
        final = self._evaluate()
        if history:
            title = f"{self.cfg.model} on {Path(str(self.cfg.dataset)).name}"
            plot_curves(history, metric, self.dir / "curves.png", title=title, best=self.best["epoch"] or None)
        return {"final": final, "best_epoch": self.best["epoch"], "epochs_run": self.epoch,
                "seconds": time.perf_counter() - start, "metric": metric}
