"""``run(cfg)``: resolve the data set, pick the task, make the run folder, train, summarise.

Data set names resolve in this order: a folder in OGB format; an ``ogbn-/ogbl-/ogbg-`` name (ogb's master.csv
or the committed fixtures, registered by :func:`fixtures_dir`); a name in ``graphkit.datasets.registry``.
The default (no ``--dataset``) is the committed ``ogbn-drosophila`` fixture: real data that needs no network.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from graphkit.train.config import TrainConfig
from graphkit.train.summary import format_summary

__all__ = ["run", "load_dataset", "fixtures_dir", "DEFAULT_DATASET", "TASK_OF_PREFIX", "RunError"]

DEFAULT_DATASET = "ogbn-drosophila"
TASK_OF_PREFIX = {"ogbn": "node", "ogbl": "link", "ogbg": "graph"}


class RunError(ValueError):
    """A run cannot start (bad folder state, task/data mismatch); the message says what to do."""


def fixtures_dir() -> Optional[Path]:
    """:func:`graphkit.datasets.fixtures.fixtures_dir`, imported on call so this module stays light."""
    from graphkit.datasets.fixtures import fixtures_dir as registered_fixtures

    return registered_fixtures()


def load_dataset(name: str, root: Optional[str] = None) -> Tuple[Any, str]:
    """The data set and the task it implies (``node``, ``link`` or ``graph``)."""
    from graphkit.datasets.ogb import load_ogb, ogb_names

    if os.path.isdir(name):
        ds = load_ogb(name)
        return ds, TASK_OF_PREFIX[ds.kind]
    fixtures_dir()
    if name.split("-")[0] in TASK_OF_PREFIX:
        if name not in ogb_names():
            raise ValueError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
        ds = load_ogb(name, root)
        return ds, TASK_OF_PREFIX[ds.kind]
    from graphkit.datasets import registry

    if name in registry.available():
        ds = registry.load(name, root)
        return ds, getattr(ds, "task", "graph")
    raise ValueError(f"unknown data set {name!r}; see `graphkit datasets` for the list")


def _run_dir(cfg: TrainConfig, resume: bool) -> Path:
    """Explicit ``--out`` is used as given; otherwise ``runs/<dataset>-<model>[-N]`` (resume: the newest)."""
    if cfg.out:
        out = Path(cfg.out)
        if not resume and (out / "last.pt").exists():
            raise RunError(f"run folder {out} already holds a run; pass --resume to continue it or another --out")
        if resume and not (out / "last.pt").exists():
            raise RunError(f"nothing to resume in {out} (no last.pt)")
        return out
    base = Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{Path(cfg.dataset).name}-{cfg.model}")
    taken = [base] + [base.with_name(f"{base.name}-{i}") for i in range(2, 1000)]
    existing = [p for p in taken if p.exists()]
    if resume:
        if not existing or not (existing[-1] / "last.pt").exists():
            raise RunError(f"nothing to resume under {base}* (no last.pt); pass --out RUN_FOLDER")
        return existing[-1]
    return next(p for p in taken if not p.exists())


def _saved_config(run_dir: Path, epochs: Optional[int]) -> TrainConfig:
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunError(f"nothing to resume in {run_dir} (no config.json)")
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunError(f"{path} is not valid JSON ({exc})") from None
    return TrainConfig.from_dict(saved, str(path)).merged({"epochs": epochs})


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but torch sees no CUDA device")
    return dev


def _on_rank0(make: Callable[[], Any], rank: int, world: int) -> Any:
    """``make()`` on rank 0, its result shared with every rank (one run folder, not one per rank)."""
    if world == 1:
        return make()
    import torch.distributed as dist

    box = [make() if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run(cfg: TrainConfig, resume: bool = False, progress: Optional[bool] = None,
        echo: Any = print) -> Dict[str, Any]:
    """Train as ``cfg`` says; returns the summary (also written to ``summary.json`` and echoed as a table).

    Under ``torch.distributed.run`` (``graphkit train --nproc N``) every rank trains a DDP replica on its share of
    the training nodes; rank 0 alone writes the run folder and prints, the others keep their checkpoints in
    ``<run>/.rank<r>`` so that each can resume its own state.
    """
    from graphkit.train.distributed import cleanup, init_distributed, wrap_ddp
    from graphkit.train.graph import GraphTask
    from graphkit.train.link import LinkTask
    from graphkit.train.node import NodeTask
    from graphkit.train.trainer import Trainer, seed_everything

    asked_epochs = cfg.epochs  # None unless given: a resumed run keeps its own unless told otherwise
    if resume and cfg.out:  # the run folder's own settings say which data set and model to rebuild
        cfg = _saved_config(Path(cfg.out), asked_epochs)
    cfg = cfg.merged({"dataset": cfg.dataset or DEFAULT_DATASET})
    dataset, implied = load_dataset(cfg.dataset, cfg.root)
    if cfg.task and cfg.task != implied:
        raise RunError(f"data set {cfg.dataset} is for --task {implied}, not --task {cfg.task}")
    cfg = cfg.merged({"task": implied}).resolved()
    rank, world = init_distributed()
    if world > 1 and cfg.task != "node":
        raise RunError(f"--nproc supports node prediction; {cfg.dataset} is a {cfg.task} prediction data set")
    if rank != 0:
        progress, echo = False, (lambda *_: None)

    def make_run_dir() -> Path:
        path = _run_dir(cfg, resume)
        if not resume:
            path.mkdir(parents=True, exist_ok=True)
            (path / "config.json").write_text(cfg.to_json() + "\n")
        return path

    run_dir = _on_rank0(make_run_dir, rank, world)
    if resume:  # the saved settings win; only --epochs may extend a resumed run
        cfg = _saved_config(run_dir, asked_epochs).resolved()
    device = _device(cfg.device)
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    if cfg.deterministic:  # see TrainConfig: one CPU thread makes CPU results reproducible across processes
        if device.type == "cpu":
            torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True, warn_only=True)
    echo(f"graphkit train: {cfg.model} on {getattr(dataset, 'name', cfg.dataset)} ({cfg.task} prediction), "
         f"up to {cfg.epochs} epochs on {device}; run folder {run_dir}")
    try:
        seed_everything(cfg.seed)
        task = {"node": NodeTask, "link": LinkTask, "graph": GraphTask}[cfg.task](dataset, cfg, device)
        task.model = wrap_ddp(task.model)
        own_dir = run_dir if rank == 0 else run_dir / f".rank{rank}"
        trainer = Trainer(task, cfg, own_dir, device, progress=progress)
        if resume:
            trainer.resume()
            echo(f"resuming {run_dir} after epoch {trainer.epoch}")
        result = trainer.fit()
    finally:  # run() may be called inside a larger program: give its settings back
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
        cleanup()
    summary = {"dataset": getattr(dataset, "name", cfg.dataset), "task": cfg.task, "model": cfg.model,
               "parameters": sum(p.numel() for p in task.model.parameters()), "device": str(device),
               "run_dir": str(run_dir), **result}
    if rank == 0:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    echo(format_summary(summary))
    return summary

