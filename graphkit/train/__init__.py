"""Training: node, link and graph prediction tasks, one Trainer, OGB metrics, checkpoints, plots.

``run(TrainConfig(...))`` is what ``graphkit train`` calls; ``load_run(run_dir)`` rebuilds a finished run's best
model. The pieces are importable on their own. ``register_model`` and ``register_task`` add models and tasks that
``run`` (and ``--model``/``--task``) can use. Names load on first use, so ``graphkit.train.config`` (all that
``graphkit --help`` needs) does not import torch.
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any, List

__all__ = ["TrainConfig", "Trainer", "Task", "Monitor", "run", "load_run", "evaluate_run", "load_dataset",
           "RunError", "CheckpointError", "DivergenceError", "save_checkpoint", "load_checkpoint", "register_model",
           "register_task"]

_HOMES = {"TrainConfig": "config", "Trainer": "trainer", "DivergenceError": "trainer", "Task": "base",
          "Monitor": "base", "register_task": "base", "register_model": "models", "run": "run", "load_run": "run",
          "evaluate_run": "run", "load_dataset": "run", "RunError": "run", "CheckpointError": "checkpoint",
          "save_checkpoint": "checkpoint", "load_checkpoint": "checkpoint"}

if TYPE_CHECKING:
    from graphkit.train.base import Monitor, Task, register_task
    from graphkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from graphkit.train.config import TrainConfig
    from graphkit.train.models import register_model
    from graphkit.train.run import RunError, evaluate_run, load_dataset, load_run, run
    from graphkit.train.trainer import DivergenceError, Trainer


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(f"graphkit.train.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphkit.train' has no attribute {name!r}")


class _Package(types.ModuleType):
    """``graphkit.train.run`` is the function ``run``, as it always was, although a module has the same name:
    importing the module ``graphkit.train.run`` must not replace the function on the package (the module itself
    stays importable: ``from graphkit.train.run import fixtures_dir``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_HOMES))
