"""The interface between a prediction task and the ``Trainer``.

A task owns its data, its model and its metric; the trainer owns the loop (optimiser, schedule, clipping,
mixed precision, checkpoints, early stopping). One epoch is: for every ``batch`` in ``task.batches()``,
``loss = task.loss(batch)``; backward; step. Then ``task.evaluate()`` scores every split.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator

import torch
from torch import Tensor, nn

from graphkit.graph import Graph

__all__ = ["Task", "structure", "shuffled_chunks"]


class Task:
    """Base class of node, link and graph prediction. Subclasses set ``model``, ``metric`` and ``higher``."""

    name = "task"
    model: nn.Module
    metric: str

    def batches(self) -> Iterator[Any]:
        raise NotImplementedError

    def loss(self, batch: Any) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        """``{"train": {...}, "valid": {...}, "test": {...}}``, the main metric first in each."""
        raise NotImplementedError


def structure(g: Graph, undirected: bool, device: torch.device) -> Graph:
    """A features-free copy of ``g``'s edges (optionally symmetrised, duplicates dropped) for message passing.

    Keeping it apart from the features lets the operators reuse its cached CSR every epoch.
    """
    ei = g.edge_index
    if undirected:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        n = g.num_nodes
        key = torch.unique(ei[0] * n + ei[1])  # sorted and deduplicated
        ei = torch.stack([key // n, key % n])
    return Graph(edge_index=ei.to(device), num_nodes=g.num_nodes)


def shuffled_chunks(n: int, size: int) -> Iterator[Tensor]:
    """Indices ``0..n-1`` in a random order (torch's global RNG, so checkpoints capture it), in chunks."""
    perm = torch.randperm(n)
    size = size if size > 0 else n
    for start in range(0, n, size):
        yield perm[start:start + size]
