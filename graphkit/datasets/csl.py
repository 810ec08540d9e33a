r"""Circular Skip Link graphs (Murphy et al., "Relational Pooling for Graph Representations"), by construction.

A CSL graph :math:`C_{n,r}` is the cycle :math:`0 - 1 - \dots - (n-1) - 0` plus the skip links
:math:`i - (i + r) \bmod n`. The benchmark uses :math:`n = 41` and the ten skips
:math:`r \in \{2, 3, 4, 5, 6, 9, 11, 12, 13, 16\}` (the classes), 15 graphs per class, each a random relabelling
of :math:`C_{41,r}`: 150 graphs, all 4-regular, so 1-WL (and every message-passing GNN) gives all of them the
same colouring and cannot beat chance (10%). Everything is generated from ``seed``; nothing is downloaded.

Shapes: each graph has ``x`` ``(41, 1)`` (all ones), ``edge_index`` ``(2, 164)`` (both directions), ``y`` ``(1,)``.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.ops._checks import check_positive_int

__all__ = ["CSL_SKIPS", "circular_skip_link", "csl_dataset", "csl_folds", "csl_split"]

CSL_SKIPS = (2, 3, 4, 5, 6, 9, 11, 12, 13, 16)


def circular_skip_link(num_nodes: int, skip: int, perm: Tensor = None) -> Tensor:
    """``edge_index`` of :math:`C_{n,r}` (both directions), nodes relabelled by ``perm`` when given."""
    if not 1 < skip < num_nodes - 1:
        raise ValueError(f"skip must be in (1, num_nodes - 1) = (1, {num_nodes - 1}), got {skip}")
    a = torch.arange(num_nodes)
    src = torch.cat([a, a])
    dst = torch.cat([(a + 1) % num_nodes, (a + skip) % num_nodes])
    ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    return ei if perm is None else perm[ei]


def csl_dataset(num_nodes: int = 41, skips: Sequence[int] = CSL_SKIPS, per_class: int = 15,
                seed: int = 0) -> List[Graph]:
    """The CSL data set: ``per_class`` random relabellings of :math:`C_{n,r}` per skip ``r``; ``y`` = class."""
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for label, skip in enumerate(skips):
        for _ in range(per_class):
            perm = torch.randperm(num_nodes, generator=gen)
            graphs.append(Graph(x=torch.ones(num_nodes, 1), edge_index=circular_skip_link(num_nodes, skip, perm),
                                y=torch.tensor([label]), kinds={"y": "graph"}))
    return graphs


def csl_split(graphs: Sequence[Graph], train: int = 9, val: int = 3, seed: int = 0) -> Dict[str, Tensor]:
    """A stratified split: per class, ``train`` graphs for training, ``val`` for validation, the rest for test."""
    labels = torch.cat([g.y.view(-1) for g in graphs])
    gen = torch.Generator().manual_seed(seed)
    parts: Dict[str, List[Tensor]] = {"train": [], "valid": [], "test": []}
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().view(-1)
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        if idx.numel() <= train + val:
            raise ValueError(f"class {c} has {idx.numel()} graphs, not more than train + val = {train + val}")
        parts["train"].append(idx[:train])
        parts["valid"].append(idx[train:train + val])
        parts["test"].append(idx[train + val:])
    return {k: torch.sort(torch.cat(v)).values for k, v in parts.items()}


def csl_folds(graphs: Sequence[Graph], num_folds: int = 5, seed: int = 0) -> List[Tuple[Tensor, Tensor]]:
    """Stratified ``num_folds``-fold cross-validation, the CSL protocol of Dwivedi et al.'s benchmark (and of
    Graph ViT / MLP-Mixer): ``(train, test)`` index pairs; each class's graphs, shuffled by ``seed``, are dealt
    round-robin to the folds, so every graph is tested exactly once and each fold holds ``per_class / num_folds``
    graphs of every class (3 of 15 for five folds: 120 train / 30 test).

    >>> folds = csl_folds(csl_dataset(), 5)
    >>> [(tr.numel(), te.numel()) for tr, te in folds][:2]
    [(120, 30), (120, 30)]
    """
    check_positive_int("num_folds", num_folds, 2)
    labels = torch.cat([g.y.view(-1) for g in graphs])
    gen = torch.Generator().manual_seed(seed)
    fold_of = torch.empty(labels.numel(), dtype=torch.long)
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().view(-1)
        if idx.numel() < num_folds:
            raise ValueError(f"class {c} has {idx.numel()} graphs, fewer than num_folds = {num_folds}")
        fold_of[idx[torch.randperm(idx.numel(), generator=gen)]] = torch.arange(idx.numel()) % num_folds
    every = torch.arange(labels.numel())
    return [(every[fold_of != k], every[fold_of == k]) for k in range(num_folds)]
