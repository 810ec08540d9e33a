"""Training: node, link and graph prediction tasks, one Trainer, OGB metrics, checkpoints, plots.

``run(TrainConfig(...))`` is what ``graphkit train`` calls; the pieces are importable on their own.
"""
from graphkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from graphkit.train.config import TrainConfig
from graphkit.train.run import RunError, load_dataset, run
from graphkit.train.trainer import Trainer

__all__ = ["TrainConfig", "Trainer", "run", "load_dataset", "RunError", "CheckpointError", "save_checkpoint",
           "load_checkpoint"]
