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
from typing import Any, Callable, Dict, Optional, Tuple, Union

import torch
from torch import nn

from graphkit.train.config import DEFAULT_DATASETS, TrainConfig
from graphkit.train.summary import format_summary

__all__ = ["run", "prepare", "load_run", "evaluate_run", "load_dataset", "implied_task", "fixtures_dir",
           "DEFAULT_DATASET", "TASK_OF_PREFIX", "RunError"]

DEFAULT_DATASET = DEFAULT_DATASETS["node"]
TASK_OF_PREFIX = {"ogbn": "node", "ogbl": "link", "ogbg": "graph"}
# graphkit.datasets.registry kinds that graphkit train cannot train, and what to use instead
_NOT_TRAINABLE = {"recsys": "a recommendation data set: see examples/movielens_lightgcn.py"}


class RunError(ValueError):
    """A run cannot start (bad folder state, task/data mismatch); the message says what to do."""


def fixtures_dir() -> Optional[Path]:
    """``datasets/fixtures`` of a source checkout (also ``$GRAPHKIT_FIXTURES``), registered with load_ogb."""
    from graphkit.datasets.ogb import register_meta

    env = os.environ.get("GRAPHKIT_FIXTURES")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "datasets" / "fixtures"
    if (path / "master.csv").is_file():
        register_meta(path / "master.csv")
        return path
    return None


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


def implied_task(name: str, root: Optional[str] = None) -> Optional[str]:
    """The task a data set name implies, without loading it (None for a folder whose name does not say).

    Unknown names and data sets that ``graphkit train`` cannot train raise :class:`RunError` here, before
    anything loads.
    """
    if os.path.isdir(name):
        return TASK_OF_PREFIX.get(Path(name).resolve().name.replace("_", "-").split("-")[0])
    fixtures_dir()
    if name.split("-")[0] in TASK_OF_PREFIX:
        from graphkit.datasets.ogb import ogb_names

        if name not in ogb_names():
            raise RunError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
        return TASK_OF_PREFIX[name.split("-")[0]]
    from graphkit.datasets import registry

    info = registry.available(root).get(name)
    if info is None:
        raise RunError(f"unknown data set {name!r}; see `graphkit datasets` for the list")
    if info["kind"] in _NOT_TRAINABLE:
        raise RunError(f"graphkit train cannot train {name}, {_NOT_TRAINABLE[info['kind']]}")
    return trainable_task(name, info["kind"])


def trainable_task(name: str, kind: str) -> Optional[str]:
    """The task ``graphkit train`` trains a registry entry of ``kind`` as, or None when it cannot train it."""
    if kind in TASK_OF_PREFIX:
        from graphkit.datasets.ogb import meta_info

        meta = meta_info(name)
        # heterogeneous graphs, knowledge graphs and sub-token prediction (ogbn-mag, ogbl-wikikg2, ogbg-code2)
        if meta.get("is hetero", "False") == "True" or meta.get("task type", "") in ("KG completion",
                                                                                     "subtoken prediction"):
            return None
        return TASK_OF_PREFIX[kind]
    return None if kind in _NOT_TRAINABLE else "graph"  # images, point clouds, meshes, molecules: per graph


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
    """``name`` as a device torch can use now; a device this machine lacks is a one-line error."""
    from graphkit.train.config import check_device_name

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RunError(f"device {name!r} was asked for but torch sees no CUDA device; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RunError(f"device {name!r} was asked for but torch sees {torch.cuda.device_count()} CUDA "
                           "device(s)")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise RunError(f"device {name!r} was asked for but torch sees no MPS device; use --device cpu")
    return dev


def prepare(cfg: TrainConfig, resume: bool = False) -> Tuple[TrainConfig, torch.device]:
    """Check everything that can be checked before the data set loads; returns the resolved config and device.

    The data set's task comes from its name (``--task`` alone picks that task's bundled data set), the model must
    suit the task, and the device must exist. Raises ``ValueError`` (:class:`RunError`) with one line.
    """
    if resume and cfg.out:  # the run folder's own settings say which data set and model to rebuild
        cfg = _saved_config(Path(cfg.out), cfg.epochs)
    cfg = cfg.merged({"dataset": cfg.dataset or DEFAULT_DATASETS[cfg.task or "node"]})
    implied = implied_task(cfg.dataset, cfg.root)
    if cfg.task and implied and cfg.task != implied:
        raise RunError(f"data set {cfg.dataset} is for --task {implied}, not --task {cfg.task}; without "
                       f"--dataset, --task {cfg.task} trains the bundled {DEFAULT_DATASETS[cfg.task]}")
    cfg = cfg.merged({"task": cfg.task or implied}).resolved()
    return cfg, _device(cfg.device)


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
    from graphkit.train.distributed import cleanup, init_distributed, wrap_ddp
    from graphkit.train.progress import EpochReport
    from graphkit.train.trainer import Trainer, seed_everything

    asked_epochs = cfg.epochs  # None unless given: a resumed run keeps its own unless told otherwise
    given = cfg
    cfg, device = prepare(given, resume)
    dataset, implied = load_dataset(cfg.dataset, cfg.root)
    if implied != cfg.task:  # only a folder's data set can surprise here (its name did not say its task)
        if given.task:
            raise RunError(f"data set {cfg.dataset} is for --task {implied}, not --task {given.task}")
        cfg, device = prepare(given.merged({"task": implied, "dataset": cfg.dataset}), resume)
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
    threads = torch.get_num_threads()
    deterministic_before = None
    if cfg.deterministic:  # see TrainConfig: one CPU thread makes CPU results reproducible across processes
        if device.type == "cpu":
            torch.set_num_threads(1)
        else:  # GPU kernels need torch's switch; on a CPU it would only cost the import of torch._inductor
            deterministic_before = torch.are_deterministic_algorithms_enabled()
            torch.use_deterministic_algorithms(True, warn_only=True)
    echo(f"graphkit train: {cfg.model} on {getattr(dataset, 'name', cfg.dataset)} ({cfg.task} prediction), "
         f"up to {cfg.epochs} epochs on {device}; run folder {run_dir}")
    report = None
    try:
        seed_everything(cfg.seed)
        task = _task_classes()[cfg.task](dataset, cfg, device)
        task.model = wrap_ddp(task.model)
        own_dir = run_dir if rank == 0 else run_dir / f".rank{rank}"
        trainer = Trainer(task, cfg, own_dir, device, progress=False)
        if resume:
            trainer.resume()
            echo(f"resuming {run_dir} after epoch {trainer.epoch}")
        if rank == 0:
            mode = "max" if trainer.higher else "min"
            report = EpochReport(cfg.epochs, task.metric, mode, live=progress, first_epoch=trainer.epoch,
                                 echo=echo)
            trainer.on_epoch_end = report
        result = trainer.fit()
    finally:  # run() may be called inside a larger program: give its settings back
        if report is not None:
            report.close()
        torch.set_num_threads(threads)
        if deterministic_before is not None:
            torch.use_deterministic_algorithms(deterministic_before)
        cleanup()
    summary = {"dataset": getattr(dataset, "name", cfg.dataset), "task": cfg.task, "model": cfg.model,
               "parameters": sum(p.numel() for p in task.model.parameters()), "device": str(device),
               "run_dir": str(run_dir), "epochs": cfg.epochs, "patience": cfg.patience, **result}
    if rank == 0:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    echo(format_summary(summary))
    return summary


def _task_classes() -> Dict[str, Any]:
    """The task class of each task name (imported here: they pull in the models and ogb's evaluators)."""
    from graphkit.train.graph import GraphTask
    from graphkit.train.link import LinkTask
    from graphkit.train.node import NodeTask

    return {"node": NodeTask, "link": LinkTask, "graph": GraphTask}


# ---------------------------------------------------------------------------------------------- finished runs
def _restore(run_dir: Union[str, Path], device: str = "cpu", root: Optional[str] = None) -> Tuple[Any, Any, Any]:
    """``(cfg, task, checkpoint)`` of a run folder, the task's model holding ``best.pt``'s weights, in eval mode."""
    from graphkit.train.checkpoint import CheckpointError, load_checkpoint
    from graphkit.train.trainer import seed_everything

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise RunError(f"{run_dir} is not a run folder (no config.json)")
    try:
        saved = json.loads((run_dir / "config.json").read_text())
    except json.JSONDecodeError as exc:
        raise RunError(f"{run_dir / 'config.json'} is not valid JSON ({exc})") from None
    cfg = TrainConfig.from_dict(saved, str(run_dir / "config.json")).merged({"root": root, "device": device})
    if not (run_dir / "best.pt").is_file():
        raise RunError(f"{run_dir} has no best.pt (the run has not finished an epoch)")
    state = load_checkpoint(run_dir / "best.pt")  # damage is reported before the data set loads
    cfg, dev = prepare(cfg)
    dataset, _ = load_dataset(cfg.dataset, cfg.root)
    seed_everything(cfg.seed)
    task = _task_classes()[cfg.task](dataset, cfg, dev)
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


def load_run(run_dir: Union[str, Path], device: str = "cpu", root: Optional[str] = None) -> nn.Module:
    """The trained model of a run folder (``config.json`` + ``best.pt``), in eval mode on ``device``.

    The model is rebuilt as ``graphkit train`` built it (the data set is loaded: input encoders are sized from
    it) and holds the best validation epoch's weights; call it as the task does, e.g. for node prediction
    ``model(x, adj, num_nodes)``.
    """
    return _restore(run_dir, device, root)[1].model


def evaluate_run(run_dir: Union[str, Path], device: str = "cpu",
                 root: Optional[str] = None) -> Tuple[Dict[str, Dict[str, float]], Dict[str, Any]]:
    """Scores of a run's best model on every split, and ``{"model", "dataset", "task", "epoch"}``."""
    cfg, task, state = _restore(run_dir, device, root)
    with torch.no_grad():
        scores = task.evaluate()
    return scores, {"model": cfg.model, "dataset": cfg.dataset, "task": cfg.task, "epoch": state.get("epoch")}
