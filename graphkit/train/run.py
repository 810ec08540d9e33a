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

from graphkit.train.config import TrainConfig
from graphkit.train.rundir import RunError, RunLock, resume_config
from graphkit.train.summary import format_summary

__all__ = ["run", "load_dataset", "fixtures_dir", "DEFAULT_DATASET", "TASK_OF_PREFIX", "RunError"]

DEFAULT_DATASET = "ogbn-drosophila"
TASK_OF_PREFIX = {"ogbn": "node", "ogbl": "link", "ogbg": "graph"}


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
    from graphkit.train.base import task_class
    from graphkit.io.atomic import atomic_write_text
    from graphkit.train.distributed import cleanup, init_distributed
    from graphkit.train.trainer import Trainer, resolve_device, seed_everything

    asked = cfg
    if resume and cfg.out:  # the run folder's own settings say which data set and model to rebuild
        cfg = resume_config(Path(cfg.out), asked)
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
    lock: Optional[RunLock] = None

    def make_run_dir() -> Path:
        nonlocal lock
        path = _run_dir(cfg, resume)
        lock = RunLock(path).acquire()  # held to the end; checked again under the lock (another run may have won)
        _run_dir(cfg.merged({"out": str(path)}), resume)
        if not resume:
            atomic_write_text(path / "config.json", cfg.to_json() + "\n")
        return path

    run_dir = _on_rank0(make_run_dir, rank, world)
    try:
        if resume:  # the saved settings win, in the folder named; only RESUME_APPLIED settings may change
            cfg = resume_config(run_dir, asked).resolved()
        device = resolve_device(cfg.device)
        echo(f"graphkit train: {cfg.model} on {getattr(dataset, 'name', cfg.dataset)} ({cfg.task} prediction), "
             f"up to {cfg.epochs} epochs on {device}; run folder {run_dir}")
        try:
            seed_everything(cfg.seed)
            task = task_class(cfg.task)(dataset, cfg, device)
            own_dir = run_dir if rank == 0 else run_dir / f".rank{rank}"
            trainer = Trainer(task, cfg, own_dir, device, progress=progress, echo=echo)
            if resume:
                trainer.resume()
                echo(f"resuming {run_dir} after epoch {trainer.epoch}")
            result = trainer.fit()
        finally:
            cleanup()
        summary = {"dataset": getattr(dataset, "name", cfg.dataset), "task": cfg.task, "model": cfg.model,
                   "parameters": sum(p.numel() for p in trainer.module.parameters()), "device": str(device),
                   "run_dir": str(run_dir), **result}
        if rank == 0:
            atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    finally:
        if lock is not None:
            lock.release()
    echo(format_summary(summary))
    return summary
