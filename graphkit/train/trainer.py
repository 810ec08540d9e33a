"""The one training loop: full batch, mini-batch and DDP; optimiser, LR schedule, clipping, mixed precision,
checkpoints, early stopping and divergence checks.

Per epoch: one pass over ``task.batches()`` (the whole graph once, or mini-batches: the task decides), then
``task.evaluate()``. Inside a ``torch.distributed`` process group of more than one rank the Trainer wraps the
model in ``DistributedDataParallel`` itself. The model with the best ``task.monitor`` score is kept
(``best.pt``); training stops after ``patience`` epochs without improvement, or with a one-line
:class:`DivergenceError` when the loss becomes non-finite or grows ``divergence`` times past the first step's.
At the end of every epoch ``last.pt`` stores everything needed to continue (model, optimiser, scheduler, loss
scaler, RNG states, early-stopping state), so ``resume()`` after a crash replays the remaining epochs exactly:
on a CPU the resumed run's metrics equal an uninterrupted run's bit for bit.

The Trainer applies ``cfg.device`` (``resolve_device``) and ``cfg.deterministic`` (:func:`deterministic_mode`
while it trains, restored afterwards; nothing is touched when it is off)
and locks its run folder (:class:`~graphkit.train.rundir.RunLock`) from construction to the end of ``fit``.

Files in the run folder: ``metrics.jsonl`` (one line per epoch), ``best.pt``, ``last.pt``, ``curves.png``
(``run()`` adds ``config.json`` and ``summary.json``).
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

from graphkit.train.base import Monitor, Task
from graphkit.train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from graphkit.train.config import DEFAULT_CLIP, TrainConfig
from graphkit.train.plots import plot_curves
from graphkit.train.rundir import MetricsLog, RunLock

__all__ = ["Trainer", "DivergenceError", "seed_everything", "resolve_device", "lr_factor", "deterministic_mode",
           "CRASH_ENV"]

CHECKPOINT_FORMAT = 1
# Test hook: the process exits hard (no cleanup, like SIGKILL) after this many optimiser steps.
CRASH_ENV = "GRAPHKIT_CRASH_AFTER_STEPS"
_NEEDED = ("epochs", "lr", "weight_decay", "patience")


class DivergenceError(FloatingPointError):
    """The training loss became non-finite or exploded; the message says where and what to change."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (CUDA when torch sees one, else CPU) or a torch device name that this machine has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but torch sees no CUDA device")
    return dev


def lr_factor(scheduler: str, epoch: int, epochs: int) -> float:
    """The LR multiplier after ``epoch`` finished epochs of ``epochs``, in closed form.

    Closed form (not torch's recursive schedulers) so that a resumed run with more ``epochs`` follows the
    schedule of the longer run exactly: ``cosine`` is :math:`\\tfrac12(1 + \\cos(\\pi e / E))`, ``step`` halves
    every quarter of the run, ``none`` is 1.

    >>> lr_factor("cosine", 0, 10), lr_factor("cosine", 5, 10), lr_factor("step", 5, 10)
    (1.0, 0.5, 0.25)
    """
    if scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))
    if scheduler == "step":
        return 0.5 ** (epoch // max(1, epochs // 4))
    if scheduler == "none":
        return 1.0
    raise ValueError(f"scheduler must be cosine, step or none, got {scheduler!r}")


@contextlib.contextmanager
def deterministic_mode(device_type: str) -> Iterator[None]:
    """Bit-reproducible training on ``device_type``, restored on exit.

    On a CPU that is one intra-op thread (multi-threaded reductions and BLAS calls are not reproducible from one
    process to the next). On a GPU it is ``torch.use_deterministic_algorithms(True, warn_only=True)``, which
    governs the CUDA kernels that use atomics; it is not called for the CPU, where the thread count alone
    decides, because its first call imports ``torch._inductor`` (seconds of start-up, ux.md item 8).
    """
    threads = torch.get_num_threads()
    before = None
    if device_type == "cpu":
        torch.set_num_threads(1)
    else:
        before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if before is not None:
            torch.use_deterministic_algorithms(before[0], warn_only=before[1])


class Trainer:
    """Train ``task.model`` under ``cfg``, writing into ``run_dir``.

    Args:
        task: a :class:`~graphkit.train.base.Task` (its model and data already on ``device``).
        cfg: the settings; ``epochs``, ``lr``, ``weight_decay``, ``patience``, ``optimizer``, ``scheduler``,
            ``clip``, ``amp``, ``deterministic`` and ``device`` are read (``TrainConfig.resolved()`` fills them).
        run_dir: the run folder (created and locked).
        device: where the task lives (default: ``resolve_device(cfg.device)``).
        progress: show a tqdm bar per epoch (default: only when stdout is a terminal).
        on_epoch_end: ``f(row)`` after each epoch, once it is saved (``row`` is the ``metrics.jsonl`` line:
            ``epoch``, ``loss``, ``lr``, the scores of every split, ``seconds``).
        on_step: ``f(epoch, step)`` after each optimiser step (``epoch`` 0-based, ``step`` counts the run).
        echo: receives one-line notices (why training stopped early).
        amp_dtype: the autocast dtype when ``cfg.amp`` is ``"on"``/``"auto"`` (default: bfloat16, or float16 on
            a GPU without bfloat16); ``cfg.amp`` ``"fp16"``/``"bf16"`` choose it by name. float16 always runs
            with a ``GradScaler`` (loss scaling, checkpointed).
        divergence: stop when a step's loss exceeds this many times ``max(1, |first step's loss|)``; 0: never.
        timeout: seconds the process group's collectives wait for a peer (the group's own timeout rules).
    """

    def __init__(self, task: Task, cfg: TrainConfig, run_dir: Path, device: Optional[torch.device] = None,
                 progress: Optional[bool] = None, *,
                 on_epoch_end: Optional[Callable[[Dict[str, Any]], None]] = None,
                 on_step: Optional[Callable[[int, int], None]] = None,
                 echo: Optional[Callable[[str], None]] = None, amp_dtype: Optional[torch.dtype] = None,
                 divergence: float = 1e4, timeout: float = 60.0):
        missing = [k for k in _NEEDED if getattr(cfg, k) is None]
        if missing:
            raise ValueError(f"Trainer needs {', '.join(missing)} set in its TrainConfig (TrainConfig.resolved() "
                             "fills them from the task's defaults)")
        if cfg.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {cfg.epochs}")
        self.task, self.cfg, self.dir = task, cfg, Path(run_dir)
        self.device = device if device is not None else resolve_device(cfg.device)
        if getattr(task, "monitor", None) is None:
            raise ValueError(f"{type(task).__name__} must declare monitor = (split, metric, 'max' or 'min'), "
                             "e.g. ('valid', 'acc', 'max')")
        self.monitor = Monitor.of(tuple(task.monitor))
        self.on_epoch_end, self.on_step, self.echo = on_epoch_end, on_step, echo or (lambda _msg: None)
        self.progress = sys.stdout.isatty() if progress is None else progress
        self.divergence, self.timeout = divergence, timeout
        self.clip = DEFAULT_CLIP if cfg.clip is None else cfg.clip  # None: a config not yet resolved()
        from graphkit.train.distributed import collective_guard, world, wrap_ddp

        self._world = world()[1]
        self._guard = collective_guard
        self.module = task.model  # what is saved: the bare model, loadable with or without DDP
        self.model = task.model = wrap_ddp(task.model, timeout)  # the task's loss must run the wrapper (gradient sync)
        self.opt = task.configure_optimizers(cfg)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda e: lr_factor(cfg.scheduler, e, cfg.epochs))  # reads cfg.epochs: resume may extend it
        self.amp_dtype = self._amp_dtype(cfg.amp, amp_dtype)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.epoch, self.step = 0, 0
        self.best: Dict[str, Any] = {"epoch": 0, "valid": self.monitor.worst, "bad_epochs": 0}
        self.best_scores: Dict[str, Dict[str, float]] = {}
        self.loss0: Optional[float] = None
        self.log = MetricsLog(self.dir)
        self.history: List[Dict[str, Any]] = []
        crash = os.environ.get(CRASH_ENV, "")
        self.crash_after = int(crash) if crash.isdigit() else 0
        self.lock = RunLock(self.dir).acquire()  # last: a constructor that fails leaves no lock behind
        self._locked = True

    def _amp_dtype(self, amp: str, dtype: Optional[torch.dtype]) -> Optional[torch.dtype]:
        if amp == "off" or (amp == "auto" and self.device.type != "cuda"):
            return None
        named = {"fp16": torch.float16, "bf16": torch.bfloat16}
        if amp in named:
            return named[amp]
        if amp not in ("on", "auto"):
            raise ValueError(f"amp must be auto, on, off, fp16 or bf16, got {amp!r}")
        if dtype is not None:
            return dtype
        # bfloat16 has float32's range (no loss scaling, no overflow in large sums); GPUs without it get float16
        # with the GradScaler
        if self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16

    # ------------------------------------------------------------------------------------------ state
    def state(self) -> Dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "epoch": self.epoch, "step": self.step,
                "model": self.module.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng_state(),
                "best": dict(self.best), "best_scores": self.best_scores, "loss0": self.loss0}

    def _load_model(self, weights: Dict[str, Any]) -> None:
        weights = dict(weights)
        consume_prefix_in_state_dict_if_present(weights, "module.")  # written by an older DDP run
        self.module.load_state_dict(weights)

    def resume(self) -> None:
        """Continue from ``last.pt``. Damage anywhere (``last.pt`` or the ``best.pt`` it refers to) is a
        :class:`CheckpointError` now, before any training; ``metrics.jsonl`` is cut back to the checkpoint."""
        path = self.dir / "last.pt"
        state = load_checkpoint(path)
        try:
            epoch, step, best = int(state["epoch"]), int(state["step"]), dict(state["best"])
            if epoch < 0 or step < 0 or int(best["epoch"]) > epoch:
                raise ValueError(f"epoch {epoch}, step {step}, best epoch {best['epoch']} are inconsistent")
            self._load_model(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.sched.load_state_dict(state["scheduler"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            set_rng_state(state["rng"])
        except (KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError) as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise CheckpointError(f"checkpoint {path} does not fit this model/config ({first}); delete the run "
                                  "folder or start a new one with another --out") from None
        # The schedule is a function of (epoch, cfg.epochs): re-time it in case --epochs changed.
        for group, base in zip(self.opt.param_groups, self.sched.base_lrs):
            group["lr"] = base * lr_factor(self.cfg.scheduler, self.sched.last_epoch, self.cfg.epochs)
        self.epoch, self.step, self.best = epoch, step, best
        self.loss0, self.best_scores = state.get("loss0"), dict(state.get("best_scores") or {})
        if int(best["epoch"]) == epoch:
            # last.pt holds the best model itself, and best.pt is written right after it: a kill in between
            # leaves an older or half-written best.pt, which is rebuilt from the model just loaded
            try:
                self._checked_best()
            except CheckpointError:
                self._save_best()
        elif int(best["epoch"]) > 0:
            self._checked_best()
        self.history = self.log.read(up_to=self.epoch)

    def _checked_best(self) -> Dict[str, Any]:
        """``best.pt``, loaded and checked against this model and the best epoch ``last.pt`` records."""
        path = self.dir / "best.pt"
        best = load_checkpoint(path)
        epoch = best.get("epoch")
        if not isinstance(best.get("model"), dict) or epoch != self.best["epoch"]:
            raise CheckpointError(f"checkpoint {path} does not belong to this run (epoch {epoch}, expected "
                                  f"{self.best['epoch']}); delete the run folder or start a new one")
        weights = dict(best["model"])
        consume_prefix_in_state_dict_if_present(weights, "module.")
        if set(weights) != set(self.module.state_dict()):
            raise CheckpointError(f"checkpoint {path} does not fit this model (different parameters)")
        return weights

    def _save_best(self) -> None:
        save_checkpoint({"format": CHECKPOINT_FORMAT, "epoch": self.best["epoch"], "model": self.module.state_dict(),
                         "metrics": self.best_scores}, self.dir / "best.pt")

    # ------------------------------------------------------------------------------------------ loop
    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _collective(self, what: str) -> Any:
        """DDP's collectives fail as one RuntimeError naming the rank (a peer died), not a gloo/NCCL dump."""
        return self._guard(what, self.timeout) if self._world > 1 else contextlib.nullcontext()

    def _check_loss(self, value: float) -> None:
        where = f"at epoch {self.epoch + 1} step {self.step + 1}"
        lr = self.opt.param_groups[0]["lr"]
        if not math.isfinite(value):
            raise DivergenceError(f"training diverged {where}: the loss is {value}; lower --lr (now {lr:g}) or "
                                  "keep --clip on")
        if self.loss0 is None:
            self.loss0 = abs(value)
        elif self.divergence and abs(value) > self.divergence * max(1.0, self.loss0):
            raise DivergenceError(f"training diverged {where}: the loss {value:.3g} is over {self.divergence:g} "
                                  f"times the first step's {self.loss0:.3g}; lower --lr (now {lr:g})")

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
            value = float(loss.detach())
            self._check_loss(value)
            with self._collective("backward (gradient all-reduce)"):
                self.scaler.scale(loss).backward()
            if self.clip > 0:
                self.scaler.unscale_(self.opt)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.scaler.step(self.opt)
            self.scaler.update()
            self.step += 1
            total, count = total + value, count + 1
            bar.set_postfix(loss=f"{total / count:.4f}")
            if self.on_step is not None:
                self.on_step(self.epoch, self.step)
            if self.crash_after and self.step >= self.crash_after:
                os._exit(99)  # the test hook: die mid-epoch without flushing or saving anything
        bar.close()
        return total / max(count, 1)

    def _evaluate(self) -> Dict[str, Dict[str, float]]:
        self.model.eval()
        with self._autocast():
            return self.task.evaluate()

    def _stopped(self) -> str:
        return (f"stopped after {self.best['bad_epochs']} epochs without improvement of "
                f"{self.monitor.split} {self.monitor.metric} (best {self.best['valid']:.4g} at epoch "
                f"{self.best['epoch']})")

    def fit(self) -> Dict[str, Any]:
        """Train to the end (or early stop); returns the best model's metrics per split and the run's facts.

        ``["stopped"]`` is the early-stopping notice (also passed to ``echo``), ``None`` when all epochs ran.
        """
        if not self._locked:
            self.lock.acquire()
            self._locked = True
        try:
            with deterministic_mode(self.device.type) if self.cfg.deterministic else contextlib.nullcontext():
                return self._fit()
        finally:
            self.close()

    def close(self) -> None:
        """Release the run folder (``fit`` does it when it returns or fails)."""
        if self._locked:
            self._locked = False
            self.lock.release()

    def _fit(self) -> Dict[str, Any]:
        split, metric = self.monitor.split, self.monitor.metric
        start = time.perf_counter()
        if self.epoch == 0:  # a fresh run: nothing of an earlier run in this folder may be mistaken for ours
            self.history = []
            (self.dir / "best.pt").unlink(missing_ok=True)
        self.log.rewrite(self.history)  # drops epochs after the checkpoint, and a fresh run's stale rows
        patience = max(int(self.cfg.patience), 1)
        while self.epoch < self.cfg.epochs and self.best["bad_epochs"] < patience:
            t0 = time.perf_counter()
            self.task.set_epoch(self.epoch)
            loss = self._train_epoch()
            lr = self.opt.param_groups[0]["lr"]
            self.sched.step()
            self.epoch += 1
            scores = self._evaluate()
            seconds = time.perf_counter() - t0
            row = {"epoch": self.epoch, "loss": loss, "lr": lr, **scores, "seconds": seconds}
            self.log.append(row)  # before last.pt: a kill in between replays this epoch and rewrites the row
            self.history.append(row)
            value = scores[split][metric]
            improved = self.monitor.better(value, self.best["valid"])
            if improved:
                self.best.update(epoch=self.epoch, valid=value, bad_epochs=0)
                self.best_scores = scores
            else:
                self.best["bad_epochs"] += 1
            # last.pt first: when it records this epoch as the best, its model is the best model, so resume()
            # can rebuild a best.pt that a kill cut short, and best.pt is never ahead of last.pt
            save_checkpoint(self.state(), self.dir / "last.pt")
            if improved:
                self._save_best()
            if self.on_epoch_end is not None:
                self.on_epoch_end(row)
        stopped = self._stopped() if self.best["bad_epochs"] >= patience and self.epoch < self.cfg.epochs else None
        if stopped:
            self.echo(stopped)
        if self.best["epoch"] > 0:
            self.module.load_state_dict(self._checked_best())
        final = self._evaluate()
        if self.history:
            title = f"{self.cfg.model} on {Path(str(self.cfg.dataset)).name}"
            plot_curves(self.history, metric, self.dir / "curves.png", title=title, best=self.best["epoch"] or None)
        return {"final": final, "best_epoch": self.best["epoch"], "epochs_run": self.epoch,
                "seconds": time.perf_counter() - start, "metric": metric, "stopped": stopped}
