"""Training configuration: defaults < task defaults < YAML file < command-line flags.

>>> cfg = TrainConfig(task="node", epochs=5)
>>> cfg.resolved().lr
0.01
>>> TrainConfig.from_dict({"epochs": 3, "lr": 0.1}).epochs
3
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Dict, Optional, Union

__all__ = ["TrainConfig", "TASK_DEFAULTS", "load_yaml", "TASKS", "AMP_MODES"]

TASKS = ("node", "link", "graph")
AMP_MODES = ("auto", "on", "off", "fp16", "bf16")

# What a task uses when neither the YAML file nor a flag says otherwise: each is a setting that trains the
# committed fixture of that task to a meaningful metric within seconds on a CPU.
TASK_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "node": dict(model="gcn", epochs=200, lr=0.01, weight_decay=5e-4, hidden=64, layers=2, dropout=0.5,
                 patience=50, batch_size=0),
    "link": dict(model="gcn", epochs=60, lr=0.005, weight_decay=0.0, hidden=64, layers=2, dropout=0.0,
                 patience=20, batch_size=1024),
    "graph": dict(model="gin", epochs=60, lr=0.003, weight_decay=0.0, hidden=64, layers=3, dropout=0.0,
                  patience=20, batch_size=64),
}


@dataclass
class TrainConfig:
    """Every knob of a run; ``None`` means "the task's default" (see ``TASK_DEFAULTS``).

    ``optimizer`` is ``"adam"``, ``"adamw"`` or ``"sgd"`` (``graphkit.train.base.OPTIMIZERS``; a task may
    override ``configure_optimizers``), with ``lr`` and ``weight_decay``.
    ``scheduler`` is ``"cosine"`` (to zero over ``epochs``), ``"step"`` (halve every quarter of the run) or
    ``"none"``. ``clip`` is the gradient-norm limit (0 turns clipping off). ``amp`` is ``"auto"`` (mixed precision
    on a GPU only), ``"on"`` (bfloat16; float16 with loss scaling on a GPU without bfloat16), ``"fp16"`` (with
    loss scaling), ``"bf16"`` or ``"off"``. ``batch_size`` 0 means full batch (node prediction).
    ``deterministic`` (default) runs CPU training on one intra-op thread: multi-threaded CPU reductions and
    BLAS calls are not bit-reproducible from one process to the next, and a resumed run must match an
    uninterrupted one exactly. Turn it off for speed on large graphs.
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
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    root: Optional[str] = None
    out: Optional[str] = None
    deterministic: bool = True

    @classmethod
    def from_dict(cls, values: Dict[str, Any], where: str = "config") -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def merged(self, overrides: Dict[str, Any]) -> "TrainConfig":
        """A copy with every non-None entry of ``overrides`` applied."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def resolved(self) -> "TrainConfig":
        """Fill the ``None`` settings from the task's defaults and check every value."""
        task = self.task or "node"
        if task not in TASK_DEFAULTS:  # the built-in TASKS and those added by graphkit.train.register_task
            raise ValueError(f"task must be one of {', '.join(TASK_DEFAULTS)}, got {task!r}")
        cfg = dataclasses.replace(self, task=task)
        for k, v in TASK_DEFAULTS[task].items():
            if getattr(cfg, k) is None:
                setattr(cfg, k, v)
        for name in ("epochs", "hidden", "layers"):
            if int(getattr(cfg, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
        if cfg.lr <= 0:
            raise ValueError(f"lr must be positive, got {cfg.lr}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        if cfg.scheduler not in ("cosine", "step", "none"):
            raise ValueError(f"scheduler must be cosine, step or none, got {cfg.scheduler!r}")
        if cfg.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {', '.join(AMP_MODES)}, got {cfg.amp!r}")
        if cfg.batch_size < 0 or cfg.patience < 0 or cfg.clip < 0:
            raise ValueError("batch_size, patience and clip must be non-negative, got "
                             f"{cfg.batch_size}, {cfg.patience}, {cfg.clip}")
        return cfg

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def load_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a YAML mapping of settings; a missing file or a non-mapping raises ValueError naming the file."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"config file {str(p)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of settings, got {type(data).__name__}")
    return data
