"""Hand any supervised model to the ``Trainer``: ``SupervisedTask`` and ``fit_supervised``.

``SupervisedTask`` wraps a model, a function that turns a tensor of sample ids into the model's input, the
targets, the ``train``/``valid``/``test`` id sets, a loss and a scorer. The trainer then supplies the run folder
(``metrics.jsonl``, ``curves.png``, ``best.pt``), the LR schedule, clipping, model selection on ``valid`` and
early stopping (``patience``).
The examples use it so that none of them needs its own training loop.

>>> import torch
>>> torch.manual_seed(0) and None
>>> x = torch.randn(60, 2); y = (x[:, 0] > 0).long()
>>> split = {"train": torch.arange(40), "valid": torch.arange(40, 50), "test": torch.arange(50, 60)}
>>> task = SupervisedTask(torch.nn.Linear(2, 2), lambda idx: x[idx], y, split, batch_size=8)
>>> sorted(task.evaluate()) == ["test", "train", "valid"] and task.metric
'acc'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.train.base import Monitor, Task, shuffled_chunks
from graphkit.io.atomic import atomic_write_text
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import metric_mode
from graphkit.train.rundir import RunLock
from graphkit.train.trainer import Trainer, seed_everything

__all__ = ["SupervisedTask", "accuracy", "rmse", "graph_inputs", "fit_supervised"]

SPLITS = ("train", "valid", "test")


def accuracy(out: Tensor, y: Tensor) -> float:
    """Share of rows whose arg-max logit is the target class."""
    return float((out.argmax(-1) == y).float().mean())


def rmse(out: Tensor, y: Tensor) -> float:
    """Root mean squared error of ``out`` (any shape broadcastable to ``y``)."""
    return float(((out.view_as(y) - y) ** 2).mean().sqrt())


def graph_inputs(graphs: Sequence[Graph]) -> Callable[[Tensor], Batch]:
    """``inputs`` for a list of graphs: sample ids -> the ``Batch`` of those graphs."""
    return lambda idx: Batch.from_graphs([graphs[i] for i in idx.tolist()])


class SupervisedTask(Task):
    """A task over sample ids: ``loss = loss_fn(model(inputs(ids)), targets[ids])``, scored on every split.

    Args:
        model: the network; its output for ``inputs(ids)`` has one row per id.
        inputs: maps a 1-D int64 tensor of sample ids to the model's input (a ``Batch``, a tensor, ...).
        targets: ``[num_samples, ...]``, indexed by the same ids.
        split: ``{"train", "valid", "test"}`` -> 1-D int64 sample ids.
        loss_fn: ``(out, target) -> scalar``; default cross-entropy.
        metric: name of the main metric, the one that selects the model on ``valid``.
        mode: ``"max"`` or ``"min"``, the direction in which ``metric`` improves; default: the known direction of
            the metrics graphkit computes (acc, rmse, mae, rocauc, ...); any other name must say it.
        score_fn: ``(out, target) -> float`` for ``metric``; default :func:`accuracy`.
        batch_size: training batch size (0 = whole training split).
        eval_batch_size: evaluation chunk size.
        train_eval: score at most this many training samples per epoch (0 = all); the training metric is only
            a curve, so a subset keeps each epoch's evaluation cheap.
    """

    name = "supervised"

    def __init__(self, model: nn.Module, inputs: Callable[[Tensor], Any], targets: Tensor,
                 split: Mapping[str, Tensor], loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
                 metric: str = "acc", score_fn: Callable[[Tensor, Tensor], float] = accuracy,
                 batch_size: int = 64, eval_batch_size: int = 512, train_eval: int = 0,
                 mode: Optional[str] = None):
        missing = [s for s in SPLITS if s not in split]
        if missing:
            raise ValueError(f"split must hold train, valid and test ids; missing {missing}")
        for s in SPLITS:
            if split[s].dtype != torch.long or split[s].dim() != 1 or split[s].numel() == 0:
                raise ValueError(f"split[{s!r}] must be a non-empty 1-D int64 tensor, got dtype "
                                 f"{split[s].dtype} and shape {tuple(split[s].shape)}")
        if batch_size < 0 or eval_batch_size < 1 or train_eval < 0:
            raise ValueError(f"batch_size, eval_batch_size, train_eval must be >= 0, >= 1, >= 0; got "
                             f"{batch_size}, {eval_batch_size}, {train_eval}")
        self.model, self.inputs, self.targets = model, inputs, targets
        self.split = {s: split[s] for s in SPLITS}
        self.monitor = Monitor.of(("valid", metric, mode if mode is not None else metric_mode(metric)))
        self.loss_fn, self.score_fn = loss_fn, score_fn
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.eval_split = dict(self.split)
        if train_eval:
            self.eval_split["train"] = self.split["train"][:train_eval]

    def batches(self) -> Iterator[Tensor]:
        train = self.split["train"]
        for chunk in shuffled_chunks(train.numel(), self.batch_size):
            yield train[chunk]

    def loss(self, batch: Tensor) -> Tensor:
        return self.loss_fn(self.model(self.inputs(batch)), self.targets[batch])

    @torch.no_grad()
    def predict(self, ids: Tensor) -> Tensor:
        """The model's outputs for ``ids``, computed in chunks of ``eval_batch_size``."""
        return torch.cat([self.model(self.inputs(ids[i:i + self.eval_batch_size])).float()
                          for i in range(0, ids.numel(), self.eval_batch_size)])

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        return {s: {self.metric: self.score_fn(self.predict(ids), self.targets[ids])}
                for s, ids in self.eval_split.items()}


def fit_supervised(task: Task, run_dir: Union[str, Path], epochs: int, lr: float, weight_decay: float = 0.0,
                   patience: Optional[int] = None, seed: int = 0, scheduler: str = "cosine",
                   clip: float = 1.0, verbose: bool = True, optimizer: str = "adam", amp: str = "off",
                   deterministic: bool = False) -> Dict[str, Any]:
    """Train ``task`` on the CPU with the ``Trainer`` into ``run_dir`` (a fresh run); returns ``Trainer.fit``'s
    summary.

    ``patience`` defaults to ``epochs`` (keep the best validation epoch, never stop early). The best
    validation epoch's model is loaded back into ``task.model`` at the end, and its scores are ``["final"]``
    (``["seconds"]`` is the training time). ``deterministic`` trains on one thread, bit-reproducible from one
    process to the next (off by default: the examples use every core; ``config.json`` records which).
    ``verbose`` prints the best epoch and the run folder.
    """
    seed_everything(seed)
    # Only the Trainer's settings: this is not one of `graphkit train`'s tasks, and config.json says so.
    cfg = TrainConfig(epochs=epochs, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                      patience=epochs if patience is None else patience, scheduler=scheduler, clip=clip,
                      seed=seed, device="cpu", amp=amp, deterministic=deterministic, out=str(run_dir))
    run_dir = Path(run_dir)
    with RunLock(run_dir):
        (run_dir / "last.pt").unlink(missing_ok=True)  # a fresh run, not a continuation of an old one
        atomic_write_text(run_dir / "config.json", cfg.to_json() + "\n")
        trainer = Trainer(task, cfg, run_dir, torch.device("cpu"),
                          echo=(lambda msg: print(f"  {run_dir.name}: {msg}", flush=True)) if verbose else None)
        res = trainer.fit()
    if verbose:
        print(f"  {run_dir.name}: best validation epoch {res['best_epoch']}/{res['epochs_run']}, "
              f"run folder {run_dir}", flush=True)
    return res
