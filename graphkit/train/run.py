"""``run(cfg)``: resolve the data set, pick the task, make the run folder, train, summarise.

Data set names resolve in this order: a folder in OGB format; an ``ogbn-/ogbl-/ogbg-`` name (ogb's master.csv
or the committed fixtures, registered by :func:`fixtures_dir`); a name in ``graphkit.datasets.registry``.
The default (no ``--dataset``) is the committed fixture of the task (``ogbn-drosophila`` without ``--task``):
real data that needs no network.

Every setting is checked (:func:`prepare`: types, ranges, model for the task, device) before the data set loads
and before the run folder is made, so a mistake costs neither time nor a stray folder.
:func:`load_run` rebuilds a finished run's best model from its folder.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, Union

from graphkit.train.config import DEFAULT_DATASETS, TrainConfig
from graphkit.train.rundir import RunError, RunLock, resume_config
from graphkit.train.summary import format_summary

if TYPE_CHECKING:
    import torch

__all__ = ["run", "prepare", "load_run", "evaluate_run", "load_dataset", "implied_task", "trainable_task",
           "fixtures_dir", "DEFAULT_DATASET", "TASK_OF_PREFIX", "RunError"]

DEFAULT_DATASET = DEFAULT_DATASETS["node"]
TASK_OF_PREFIX = {"ogbn": "node", "ogbl": "link", "ogbg": "graph"}


def ogb_task(meta: Dict[str, str], kind: str) -> Optional[str]:
    """The task an OGB data set's meta implies: ``kg`` for KG completion, ``hetero`` for a heterogeneous node
    set, else by prefix; ``None`` for what graphkit train cannot train (sub-token prediction, hetero link sets
    that are not KGs)."""
    if meta.get("task type", "") == "KG completion":
        return "kg"
    if meta.get("task type", "") == "subtoken prediction":
        return None
    if meta.get("is hetero", "False") == "True":
        return "hetero" if kind == "ogbn" else None
    return TASK_OF_PREFIX[kind]
# graphkit.datasets.registry kinds with a task of their own; every other kind (images, point clouds, meshes,
# molecules) trains per graph
_KIND_TASKS = {"recsys": "recsys"}


def fixtures_dir() -> Optional[Path]:
    """:func:`graphkit.datasets.fixtures.fixtures_dir`, imported on call so this module stays light."""
    from graphkit.datasets.fixtures import fixtures_dir as registered_fixtures

    return registered_fixtures()


def _hetero_fixture(name: str) -> bool:
    from graphkit.datasets.hetero_fixtures import HETERO_FIXTURES

    return name in HETERO_FIXTURES


def load_dataset(name: str, root: Optional[str] = None) -> Tuple[Any, str]:
    """The data set and the task it implies (``node``, ``link`` or ``graph``)."""
    from graphkit.datasets.ogb import load_ogb, ogb_names

    if os.path.isdir(name):
        ds = load_ogb(name)
        return ds, ogb_task(ds.meta, ds.kind) or TASK_OF_PREFIX[ds.kind]
    fixtures_dir()
    if name.split("-")[0] in TASK_OF_PREFIX:
        if name not in ogb_names() and not _hetero_fixture(name):
            raise ValueError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
        ds = load_ogb(name, root)
        return ds, ogb_task(ds.meta, ds.kind) or TASK_OF_PREFIX[ds.kind]
    from graphkit.datasets import registry

    if name in registry.available():
        ds = registry.load(name, root)
        return ds, getattr(ds, "task", "graph")
    raise ValueError(f"unknown data set {name!r}; see `graphkit datasets` for the list")


def implied_task(name: str, root: Optional[str] = None) -> Optional[str]:
    """The task a data set name implies, without loading it (None for a folder whose name does not say).

    Unknown names and data sets that ``graphkit train`` cannot train raise :class:`RunError` here, before
    anything loads.
    """
    if os.path.isdir(name):
        return TASK_OF_PREFIX.get(Path(name).resolve().name.replace("_", "-").split("-")[0])
    fixtures_dir()
    if name.split("-")[0] in TASK_OF_PREFIX:
        from graphkit.datasets.ogb import meta_info, ogb_names

        if name not in ogb_names() and not _hetero_fixture(name):
            raise RunError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
        task = ogb_task(meta_info(name), name.split("-")[0])
        if task is None:
            raise RunError(f"graphkit train cannot train {name} ({meta_info(name).get('task type', '')})")
        return task
    from graphkit.datasets import registry

    info = registry.available(root).get(name)
    if info is None:
        raise RunError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
    return trainable_task(name, info["kind"])


def trainable_task(name: str, kind: str) -> Optional[str]:
    """The task ``graphkit train`` trains a registry entry of ``kind`` as, or None when it cannot train it."""
    if kind in TASK_OF_PREFIX:
        from graphkit.datasets.ogb import meta_info

        return ogb_task(meta_info(name), kind)
    return _KIND_TASKS.get(kind, "graph")


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


def prepare(cfg: TrainConfig, resume: bool = False) -> Tuple[TrainConfig, "torch.device"]:
    """Check everything that can be checked before the data set loads; returns the resolved config and device.

    The data set's task comes from its name (``--task`` alone picks that task's bundled data set), the model must
    suit the task, and the device must exist. Raises ``ValueError`` (:class:`RunError`) with one line.
    """
    from graphkit.train.config import check_device_name
    from graphkit.train.trainer import resolve_device

    if resume and cfg.out:  # the run folder's own settings say which data set and model to rebuild
        cfg = resume_config(Path(cfg.out), cfg)
    cfg = cfg.merged({"dataset": cfg.dataset or DEFAULT_DATASETS.get(cfg.task or "node", DEFAULT_DATASET)})
    implied = implied_task(cfg.dataset, cfg.root)
    if cfg.task and implied and cfg.task != implied:
        bundled = (f"; without --dataset, --task {cfg.task} trains the bundled {DEFAULT_DATASETS[cfg.task]}"
                   if cfg.task in DEFAULT_DATASETS else "")
        raise RunError(f"data set {cfg.dataset} is for --task {implied}, not --task {cfg.task}{bundled}")
    cfg = cfg.merged({"task": cfg.task or implied}).resolved()
    check_device_name(cfg.device)
    return cfg, resolve_device(cfg.device)


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

    ``progress``: a live bar over the epochs (True), one printed line per epoch (False), or the bar only when
    stdout is a terminal (None).

    Under ``torch.distributed.run`` (``graphkit train --nproc N``) every rank trains a DDP replica on its share of
    the training nodes; rank 0 alone writes the run folder and prints, the others keep their checkpoints in
    ``<run>/.rank<r>`` so that each can resume its own state.
    """
    from graphkit.io.atomic import atomic_write_text
    from graphkit.train.base import task_class
    from graphkit.train.distributed import cleanup, init_distributed
    from graphkit.train.progress import EpochReport
    from graphkit.train.trainer import Trainer, seed_everything

    asked = cfg
    cfg, device = prepare(asked, resume)
    dataset, implied = load_dataset(cfg.dataset, cfg.root)
    dataset_name = getattr(dataset, "name", cfg.dataset)
    if implied != cfg.task:  # only a folder's data set can surprise here (its name did not say its task)
        if asked.task:
            raise RunError(f"data set {cfg.dataset} is for --task {implied}, not --task {asked.task}")
        cfg, device = prepare(asked.merged({"task": implied, "dataset": cfg.dataset}), resume)
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
            cfg, device = prepare(resume_config(run_dir, asked))
        echo(f"graphkit train: {cfg.model} on {dataset_name} ({cfg.task} prediction), "
             f"up to {cfg.epochs} epochs on {device}; run folder {run_dir}")
        report = None
        try:
            seed_everything(cfg.seed)
            task = task_class(cfg.task)(dataset, cfg, device)
            # the task holds what it trains on; the rest (at ogbn-products' size the raw edge list: 1 GB) goes
            del dataset
            own_dir = run_dir if rank == 0 else run_dir / f".rank{rank}"
            trainer = Trainer(task, cfg, own_dir, device, progress=False, echo=echo)
            if resume:
                trainer.resume()
                echo(f"resuming {run_dir} after epoch {trainer.epoch}")
            if rank == 0:  # a live bar over the epochs on a terminal, a line per epoch otherwise
                report = EpochReport(cfg.epochs, trainer.monitor.metric, trainer.monitor.mode, live=progress,
                                     first_epoch=trainer.epoch, echo=echo)
                trainer.on_epoch_end = report
            result = trainer.fit()
        finally:
            if report is not None:
                report.close()
            cleanup()
        summary = {"dataset": dataset_name, "task": cfg.task, "model": cfg.model,
                   "parameters": sum(p.numel() for p in trainer.module.parameters()), "device": str(device),
                   "run_dir": str(run_dir), "epochs": cfg.epochs, "patience": cfg.patience, **result}
        if rank == 0:
            atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    finally:
        if lock is not None:
            lock.release()
    echo(format_summary(summary))
    return summary


# ---------------------------------------------------------------------------------------------- finished runs
def _restore(run_dir: Union[str, Path], device: str = "cpu", root: Optional[str] = None) -> Tuple[Any, Any, Any]:
    """``(cfg, task, checkpoint)`` of a run folder, the task's model holding ``best.pt``'s weights, in eval mode."""
    from graphkit.train.base import task_class
    from graphkit.train.checkpoint import CheckpointError, load_checkpoint
    from graphkit.train.rundir import read_config
    from graphkit.train.trainer import seed_everything

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise RunError(f"{run_dir} is not a run folder (no config.json)")
    cfg = read_config(run_dir).merged({"root": root, "device": device})
    if not (run_dir / "best.pt").is_file():
        raise RunError(f"{run_dir} has no best.pt (the run has not finished an epoch)")
    state = load_checkpoint(run_dir / "best.pt")  # damage is reported before the data set loads
    cfg, dev = prepare(cfg)
    dataset, _ = load_dataset(cfg.dataset, cfg.root)
    seed_everything(cfg.seed)
    task = task_class(cfg.task)(dataset, cfg, dev)
    weights = state["model"]
    if weights and all(k.startswith("module.") for k in weights):  # saved from a DDP-wrapped (--nproc) model
        weights = {k[len("module."):]: v for k, v in weights.items()}
    try:
        task.model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{run_dir / 'best.pt'} does not fit the model of {run_dir / 'config.json'} "
                              f"({str(exc).splitlines()[0][:160]})") from None
    task.model.eval()
    return cfg, task, state


def load_run(run_dir: Union[str, Path], device: str = "cpu", root: Optional[str] = None) -> "torch.nn.Module":
    """The trained model of a run folder (``config.json`` + ``best.pt``), in eval mode on ``device``.

    The model is rebuilt as ``graphkit train`` built it (the data set is loaded: input encoders are sized from
    it) and holds the best validation epoch's weights; call it as the task does, e.g. for node prediction
    ``model(x, adj, num_nodes)``.
    """
    return _restore(run_dir, device, root)[1].model


def evaluate_run(run_dir: Union[str, Path], device: str = "cpu",
                 root: Optional[str] = None) -> Tuple[Dict[str, Dict[str, float]], Dict[str, Any]]:
    """Scores of a run's best model on every split, and ``{"model", "dataset", "task", "epoch"}``."""
    import torch

    cfg, task, state = _restore(run_dir, device, root)
    with torch.no_grad():
        scores = task.evaluate()
    return scores, {"model": cfg.model, "dataset": cfg.dataset, "task": cfg.task, "epoch": state.get("epoch")}
