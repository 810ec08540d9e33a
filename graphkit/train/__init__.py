"""Training: node, link and graph prediction tasks, one Trainer, OGB metrics, checkpoints, plots.

``run(TrainConfig(...))`` is what ``graphkit train`` calls; the pieces are importable on their own.
``register_model`` and ``register_task`` add models and tasks that ``run`` (and ``--model``/``--task``) can use.
"""
from graphkit.train.base import Monitor, Task, register_task
from graphkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from graphkit.train.config import TrainConfig
from graphkit.train.models import register_model
from graphkit.train.run import RunError, load_dataset, run
from graphkit.train.trainer import DivergenceError, Trainer

__all__ = ["TrainConfig", "Trainer", "Task", "Monitor", "run", "load_dataset", "RunError", "CheckpointError",
           "DivergenceError", "save_checkpoint", "load_checkpoint", "register_model", "register_task"]
