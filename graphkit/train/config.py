"""Training configuration: defaults < task defaults < YAML file < command-line flags.

Every value is checked against its field's type as it is set (``TrainConfig(...)``, ``from_dict``, ``merged``):
PyYAML reads ``lr: 1e-3`` as the *string* ``"1e-3"``, so numbers written as text are converted, and anything
that is not a value of the field's type (``hidden: 16.7``, ``epochs: three``) is a ``ValueError`` naming the
setting. ``resolved()`` then fills the task's defaults and checks ranges and choices. None of this imports
torch or touches the disk, so ``graphkit train`` refuses bad settings before any data loads.

>>> cfg = TrainConfig(task="node", epochs=5)
>>> cfg.resolved().lr
0.01
>>> TrainConfig.from_dict({"epochs": 3, "lr": "1e-3"}).lr
0.001
>>> TrainConfig.from_dict({"hidden": 16.7}, "run.yaml")
Traceback (most recent call last):
    ...
ValueError: run.yaml: hidden must be an integer, got 16.7
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import typing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

__all__ = ["TrainConfig", "TASK_DEFAULTS", "MODEL_DEFAULTS", "DEFAULT_CLIP", "load_yaml", "TASKS", "AMP_MODES",
           "MODELS", "DEFAULT_DATASETS", "CHOICES", "check_device_name"]

TASKS = ("node", "link", "graph", "hetero", "kg", "recsys")
AMP_MODES = ("auto", "on", "off", "fp16", "bf16")

# The bundled fixture each task trains when no --dataset is given (datasets/fixtures, no network needed).
# hetero and kg: fixtures built on first use from pykeen's UMLS and recbole's MovieLens-100k (installed packages);
# recsys reads recbole's MovieLens-100k itself.
DEFAULT_DATASETS = {"node": "ogbn-drosophila", "link": "ogbl-connectome", "graph": "ogbg-freesolv",
                    "hetero": "ogbn-movielens", "kg": "ogbl-umls", "recsys": "movielens-100k"}

# --model names per task (case-insensitive). The attention stacks, ncn and ncnc are listed only where they are built.
MODELS: Dict[str, Tuple[str, ...]] = {
    "node": ("gcn", "sage", "graphsage", "gin", "gat", "gatv2", "transformer", "pna", "edgecnn"),
    "link": ("gcn", "sage", "graphsage", "gin", "gat", "gatv2", "transformer", "pna", "edgecnn", "ncn",
             "ncnc"),
    "graph": ("gin", "gcn", "sage", "graphsage", "edgecnn", "pna"),
    "hetero": ("rgcn",),
    "kg": ("distmult", "complex", "transe", "rotate", "rgcn"),
    "recsys": ("lightgcn", "ultragcn"),
}

# Settings that take one of a few strings (``model`` depends on the task, see MODELS).
CHOICES: Dict[str, Tuple[str, ...]] = {"scheduler": ("cosine", "step", "none"), "amp": AMP_MODES,
                                       "remote_features": ("halo", "fetch")}

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

# What a task uses when neither the YAML file nor a flag says otherwise: each is a setting that trains the
# committed fixture of that task to a meaningful metric within seconds on a CPU.
TASK_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "node": dict(model="gcn", epochs=200, lr=0.01, weight_decay=5e-4, hidden=64, layers=2, dropout=0.5,
                 patience=50, batch_size=0),
    "link": dict(model="gcn", epochs=60, lr=0.005, weight_decay=0.0, hidden=64, layers=2, dropout=0.0,
                 patience=20, batch_size=0),
    "graph": dict(model="gin", epochs=60, lr=0.003, weight_decay=0.0, hidden=64, layers=3, dropout=0.0,
                  patience=20, batch_size=64),
    "hetero": dict(model="rgcn", epochs=100, lr=0.01, weight_decay=0.0, hidden=32, layers=2, dropout=0.5,
                   patience=50, batch_size=0),
    "kg": dict(model="distmult", epochs=100, lr=0.01, weight_decay=0.0, hidden=64, layers=2, dropout=0.0,
               patience=20, batch_size=512),
    # LightGCN's paper setting (d = 64, 3 layers, BPR), 30 epochs on MovieLens-100k; no clipping: BPR's gradients
    # are small, and UltraGCN's loss is a sum over the batch that its paper steps on unclipped
    "recsys": dict(model="lightgcn", epochs=30, lr=5e-3, weight_decay=0.0, hidden=64, layers=3, dropout=0.0,
                   patience=10, batch_size=8192, clip=0.0),
}
DEFAULT_CLIP = 1.0  # the gradient-norm limit of every task whose TASK_DEFAULTS do not say otherwise

# Where one model of a task trains best with other settings than the task's (applied before TASK_DEFAULTS).
MODEL_DEFAULTS: Dict[Tuple[str, str], Dict[str, Any]] = {
    # the UltraGCN paper's batch (Mao et al., 2021), but lr 1e-2: its 1e-3 is for ML-1M's ~1,000 steps an epoch over
    # 75 epochs; ML-100k's ~80 steps an epoch stay at the most-popular ranking for 20+ epochs at 1e-3 (RESULTS.md)
    ("recsys", "ultragcn"): dict(lr=1e-2, batch_size=1024),
}


@dataclass
class TrainConfig:
    """Every knob of a run; ``None`` means "the task's default" (see ``TASK_DEFAULTS``).

    ``optimizer`` is ``"adam"``, ``"adamw"`` or ``"sgd"`` (``graphkit.train.base.OPTIMIZERS``; a task may
    override ``configure_optimizers``), with ``lr`` and ``weight_decay``.
    ``scheduler`` is ``"cosine"`` (to zero over ``epochs``), ``"step"`` (halve every quarter of the run) or
    ``"none"``. ``clip`` is the gradient-norm limit (0 turns clipping off; ``None``: the task's, else
    ``DEFAULT_CLIP``). ``amp`` is ``"auto"`` (mixed precision on a GPU only), ``"on"`` (bfloat16; float16 with
    loss scaling on a GPU without bfloat16), ``"fp16"`` (with loss scaling), ``"bf16"`` or ``"off"``.
    ``batch_size`` 0 means full batch (node and link prediction; link: every step embeds the whole graph).
    ``deterministic`` (default) runs CPU training on one intra-op thread: multi-threaded CPU reductions and
    BLAS calls are not bit-reproducible from one process to the next, and a resumed run must match an
    uninterrupted one exactly. Turn it off for speed on large graphs.
    ``remote_features`` (multi-process mini-batch node training): ``"halo"`` gives each rank its METIS part's and
    its halo's feature rows; ``"fetch"`` only its part's, the others fetched per batch by one all-to-all
    (``graphkit.loader.DistFeatureStore``), with ``feature_cache`` hot remote rows cached on each rank.
    """

    task: Optional[str] = None
    dataset: Optional[str] = None
    model: Optional[str] = None
    epochs: Optional[int] = None
    lr: Optional[float] = None
    weight_decay: Optional[float] = None
    optimizer: str = "adam"
    hidden: Optional[int] = None
    layers: Optional[int] = None
    dropout: Optional[float] = None
    patience: Optional[int] = None
    batch_size: Optional[int] = None
    scheduler: str = "cosine"
    clip: Optional[float] = None
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    root: Optional[str] = None
    out: Optional[str] = None
    deterministic: bool = True
    remote_features: str = "halo"
    feature_cache: int = 0

    def __post_init__(self) -> None:
        hints = _field_types()
        for f in fields(self):
            setattr(self, f.name, _coerce(f.name, getattr(self, f.name), hints[f.name]))

    @classmethod
    def from_dict(cls, values: Dict[str, Any], where: str = "config") -> "TrainConfig":
        """Build from a mapping (a YAML file's); ``where`` (the file) starts every error message."""
        known = sorted(f.name for f in fields(cls))
        unknown = sorted(set(values) - set(known))
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]).replace("-", "_"), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{where}: unknown setting {unknown[0]!r}; {hint}known: {', '.join(known)}")
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def merged(self, overrides: Dict[str, Any]) -> "TrainConfig":
        """A copy with every non-None entry of ``overrides`` applied."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def resolved(self) -> "TrainConfig":
        """Fill the ``None`` settings from the task's defaults and check every value (ranges and choices)."""
        task = self.task or "node"
        if task not in TASK_DEFAULTS:  # the built-in TASKS and those added by graphkit.train.register_task
            raise ValueError(f"task must be one of {', '.join(TASK_DEFAULTS)}, got {task!r}")
        cfg = dataclasses.replace(self, task=task)
        model = str(cfg.model or TASK_DEFAULTS[task].get("model", "")).lower()
        defaults = {"clip": DEFAULT_CLIP, **TASK_DEFAULTS[task], **MODEL_DEFAULTS.get((task, model), {})}
        for k, v in defaults.items():
            if getattr(cfg, k) is None:
                setattr(cfg, k, v)
        for name in ("epochs", "hidden", "layers"):
            if getattr(cfg, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
        if cfg.lr <= 0:
            raise ValueError(f"lr must be positive, got {cfg.lr}")
        if cfg.weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {cfg.weight_decay}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        for name, allowed in CHOICES.items():
            _check_choice(name, getattr(cfg, name), allowed)
        _check_model(cfg.model, task)
        _check_optimizer(cfg.optimizer)
        check_device_name(cfg.device)
        full_batch = task in ("node", "hetero", "link")  # 0 means full batch there
        if cfg.batch_size < (0 if full_batch else 1):
            zero = " (0, full batch, is for node and link prediction only)" if cfg.batch_size == 0 else ""
            raise ValueError(f"batch_size must be at least {0 if full_batch else 1} for {task} prediction, "
                             f"got {cfg.batch_size}{zero}")
        for name in ("patience", "clip", "feature_cache"):
            if getattr(cfg, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(cfg, name)}")
        return cfg

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def check_device_name(name: str) -> None:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; whether torch sees that device is checked at run time."""
    if not _DEVICE.match(name):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {name!r}")


def _check_model(model: str, task: str) -> None:
    """``model`` must be built for ``task`` (MODELS), or added with ``graphkit.train.register_model``."""
    import sys

    builders = getattr(sys.modules.get("graphkit.train.models"), "BUILDERS", {})  # loaded once a model registers
    builtin = {m for names in MODELS.values() for m in names}
    if task not in MODELS or model.lower() in MODELS[task] or (model.lower() in builders and model.lower()
                                                                 not in builtin):
        return
    other = [t for t in MODELS if model.lower() in MODELS[t]]
    where = f" ({model} is for --task {' or '.join(other)})" if other else ""
    raise ValueError(f"model for {task} prediction must be one of {', '.join(MODELS[task])}, got {model!r}{where}")


def _check_optimizer(name: str) -> None:
    from graphkit.train.base import OPTIMIZERS  # torch: resolved() runs where training is about to start

    _check_choice("optimizer", name, tuple(OPTIMIZERS))


def _check_choice(name: str, value: str, allowed: Tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _field_types() -> Dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the field's type (``Optional[T]`` allows None); text that spells a number becomes one."""
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return None
    typ = next(a for a in args if a is not type(None)) if args else hint
    bad = ValueError(f"{name} must be {_TYPE_NAMES.get(typ, typ.__name__)}, got {value!r}")
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLS:
            return _BOOLS[value.strip().lower()]
        raise bad
    if isinstance(value, bool):  # True is an int to Python, never a size or a rate here
        raise bad
    if typ is str:
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise bad from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad
    if typ is int:
        if isinstance(value, float) and not value.is_integer():
            raise bad
        return int(value)
    return float(value)


def load_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a YAML mapping of settings; every problem (missing, a folder, unreadable, bad YAML with its line and
    column, not a mapping) is a ValueError naming the file."""
    import yaml

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"config file {str(p)!r} is a folder, not a YAML file")
    if not p.exists():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"config file {str(p)!r} cannot be read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"config file {str(p)!r} is not valid YAML{at}: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of settings, got {type(data).__name__}")
    return data
