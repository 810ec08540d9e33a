"""The interface between a prediction task and the ``Trainer``, and the open registry of tasks.

A task owns its data, its model, its optimiser choice and what it monitors; the trainer owns the loop (schedule,
clipping, mixed precision, DDP, checkpoints, early stopping). One epoch is: ``task.set_epoch(e)``; for every
``batch`` in ``task.batches()``, ``loss = task.loss(batch)``; backward; step. Then ``task.evaluate()`` scores
every split, and ``task.monitor = (split, metric, mode)`` says which score selects the model and which way
it improves (``mode`` ``"max"`` or ``"min"``, as Lightning's ``ModelCheckpoint(monitor, mode)``).

>>> m = Monitor.of(("valid", "rmse", "min"))
>>> m.better(0.5, 0.7), m.worst
(True, inf)
"""
from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Dict, Iterable, Iterator, NamedTuple, Optional, Tuple, Type, Union

import torch
from torch import Tensor, nn

from graphkit.graph import Graph
from graphkit.ops.adjacency import build_csr

__all__ = ["Task", "Monitor", "TASK_CLASSES", "OPTIMIZERS", "build_optimizer", "register_task", "task_class", "structure",
           "shuffled_chunks"]

# ``TrainConfig.optimizer`` -> (class, extra keyword arguments); SGD gets the momentum everyone uses with it.
OPTIMIZERS: Dict[str, Tuple[Type[torch.optim.Optimizer], Dict[str, Any]]] = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}


def build_optimizer(params: Iterable[Any], name: str, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """``OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay)``; an unknown name is a ValueError."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    cls, extra = OPTIMIZERS[name]
    return cls(params, lr=lr, weight_decay=weight_decay or 0.0, **extra)


class Monitor(NamedTuple):
    """The score that selects the model: ``scores[split][metric]``, improving towards ``mode``."""

    split: str
    metric: str
    mode: str

    @classmethod
    def of(cls, value: Union["Monitor", Tuple[str, str, str]]) -> "Monitor":
        if not isinstance(value, tuple) or len(value) != 3 or not all(isinstance(v, str) for v in value):
            raise ValueError(f"monitor must be (split, metric, 'max' or 'min'), got {value!r}")
        if value[2] not in ("max", "min"):
            raise ValueError(f"monitor mode must be 'max' or 'min', got {value[2]!r}")
        return cls(*value)

    @property
    def worst(self) -> float:
        return -math.inf if self.mode == "max" else math.inf

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` improves on ``than`` (NaN never does)."""
        if math.isnan(value):
            return False
        return value > than if self.mode == "max" else value < than


class Task:
    """Base class of node, link, graph and custom prediction.

    Subclasses set ``model`` and ``monitor`` and implement ``batches``, ``loss`` and ``evaluate``; they may
    override ``configure_optimizers`` (default: ``cfg.optimizer`` with ``cfg.lr`` and ``cfg.weight_decay``) and
    ``set_epoch`` (a loader whose sampling depends on the epoch, so that a resumed run draws the same batches).
    """

    name = "task"
    model: nn.Module
    monitor: Tuple[str, str, str]

    @property
    def metric(self) -> str:
        """The monitored metric's name."""
        return self.monitor[1]

    def configure_optimizers(self, cfg: Any) -> torch.optim.Optimizer:
        return build_optimizer(self.model.parameters(), cfg.optimizer, cfg.lr, cfg.weight_decay)

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer before epoch ``epoch`` (0-based) starts."""

    def batches(self) -> Iterator[Any]:
        raise NotImplementedError

    def loss(self, batch: Any) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        """``{"train": {...}, "valid": {...}, "test": {...}}``, the main metric first in each."""
        raise NotImplementedError


# name -> Task class, or "module:Class" for the built-in ones (imported on first use, keeping start-up light)
TASK_CLASSES: Dict[str, Union[str, Type[Task]]] = {
    "node": "graphkit.train.node:NodeTask",
    "link": "graphkit.train.link:LinkTask",
    "graph": "graphkit.train.graph:GraphTask",
    "hetero": "graphkit.train.hetero_node:HeteroNodeTask",
    "kg": "graphkit.train.kg:KGTask",
    "recsys": "graphkit.train.recsys:RecsysTask",
}


def register_task(name: str, cls: Optional[Type[Task]] = None,
                  defaults: Optional[Dict[str, Any]] = None) -> Callable[[Type[Task]], Type[Task]]:
    """Make ``TrainConfig(task=name)`` build ``cls(dataset, cfg, device)``; usable as a decorator.

    ``defaults`` are the task's ``TASK_DEFAULTS`` (the settings ``None`` resolves to); a new name without them
    starts from the node task's. Registering an existing name replaces that task.
    """
    from graphkit.train.config import TASK_DEFAULTS

    def add(c: Type[Task]) -> Type[Task]:
        if not (isinstance(c, type) and issubclass(c, Task)):
            raise TypeError(f"register_task({name!r}, ...) needs a Task subclass, got {c!r}")
        TASK_CLASSES[name] = c
        if defaults is not None or name not in TASK_DEFAULTS:
            TASK_DEFAULTS[name] = dict(defaults if defaults is not None else TASK_DEFAULTS["node"])
        return c

    if cls is not None:
        add(cls)
    return add


def task_class(name: str) -> Type[Task]:
    """The Task class registered under ``name``."""
    if name not in TASK_CLASSES:
        raise ValueError(f"task must be one of {', '.join(TASK_CLASSES)}, got {name!r}")
    entry = TASK_CLASSES[name]
    if isinstance(entry, str):
        module, cls = entry.split(":")
        entry = TASK_CLASSES[name] = getattr(importlib.import_module(module), cls)
    return entry


def structure(g: Graph, undirected: bool, device: torch.device) -> Graph:
    """A features-free copy of ``g``'s edges (optionally symmetrised, duplicates dropped) for message passing.

    Keeping it apart from the features lets the operators reuse its cached CSR every epoch. The symmetrised
    structure lists its edges grouped by target, sources ascending within a target (the CSR order), and comes
    with that CSR built: ``col`` is ``edge_index[0]`` itself and ``perm`` the identity, so neither a sort nor a
    second ``[E]`` copy of the sources is made (at ogbn-products' 124M directed edges: 3 GB less at the peak).
    """
    ei = g.edge_index
    n = g.num_nodes
    if not undirected:
        return Graph(edge_index=ei.to(device), num_nodes=n)
    e = ei.size(1)
    # one int64 key per directed edge, both directions: target * n + source
    key = torch.empty(2 * e, dtype=torch.long, device=ei.device)
    torch.mul(ei[1], n, out=key[:e]).add_(ei[0])
    torch.mul(ei[0], n, out=key[e:]).add_(ei[1])
    key = torch.unique(key)  # sorted and deduplicated: grouped by target, sources ascending
    out = torch.empty(2, key.numel(), dtype=torch.long, device=ei.device)
    torch.remainder(key, n, out=out[0])
    torch.div(key, n, rounding_mode="floor", out=out[1])
    del key
    sym = Graph.trusted(out, n, csr=build_csr(out[1], out[0], n, grouped=True))
    return sym if sym.edge_index.device == torch.device(device) else sym.to(device)


def shuffled_chunks(n: int, size: int) -> Iterator[Tensor]:
    """Indices ``0..n-1`` in a random order (torch's global RNG, so checkpoints capture it), in chunks."""
    perm = torch.randperm(n)
    size = size if size > 0 else n
    for start in range(0, n, size):
        yield perm[start:start + size]
