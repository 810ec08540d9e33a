"""A homogeneous link-prediction view of a knowledge graph: relation types and directions forgotten.

A triple ``(h, r, t)`` becomes the undirected pair ``{h, t}`` (self-loops dropped, one pair however many relations
join the two entities). The training pairs form the graph; the validation pairs are those that the training
triples do not already join, the test pairs those that neither training nor validation join, so no evaluated pair
is an edge of the graph the model sees. Each of validation and test gets its own shared pool of negatives (as
ogbl-collab/ddi/connectome have): pairs that no triple of any split joins, drawn once with a fixed seed, at most
``num_negatives`` each (fewer when the graph is so dense that the non-edges run short: then they are halved).

The result is an ``ogbl``-style :class:`~graphkit.datasets.ogb.OGBDataset` (``graph``, ``split`` with ``edge`` and
``edge_neg``), so ``graphkit.train.link.LinkTask`` trains it as it trains ogbl-connectome.

>>> split = {"train": {"head": torch.tensor([0, 1, 2, 1]), "tail": torch.tensor([1, 0, 3, 1])},
...          "valid": {"head": torch.tensor([0, 0]), "tail": torch.tensor([2, 1])},
...          "test": {"head": torch.tensor([3]), "tail": torch.tensor([0])}}
>>> ds = link_view_of_triples(split, num_nodes=5, name="toy")
>>> ds.graph.edge_index.tolist()  # {0, 1} once (two triples), {2, 3}; the self-loop (1, 1) is dropped
[[0, 2, 1, 3], [1, 3, 0, 2]]
>>> ds.split["valid"]["edge"].tolist(), ds.split["test"]["edge"].tolist()  # (0, 1) is a training pair
([[0, 2]], [[0, 3]])
>>> ds.split["valid"]["edge_neg"].shape, ds.name, ds.eval_metric
(torch.Size([3, 2]), 'toy', 'hits@20')
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import torch
from torch import Tensor

from graphkit.datasets.ogb import OGBDataset
from graphkit.graph import Graph

__all__ = ["link_view_of_triples", "homogeneous_link_view"]


def _pair_keys(head: Tensor, tail: Tensor, n: int) -> Tensor:
    """Sorted unique keys ``min * n + max`` of the undirected pairs, self-loops dropped."""
    head, tail = head.long().view(-1), tail.long().view(-1)
    lo, hi = torch.minimum(head, tail), torch.maximum(head, tail)
    return torch.unique((lo * n + hi)[lo != hi])


# Up to this many ordered pairs the free pairs are enumerated (exact, any density); beyond, they are drawn.
_ENUMERATE = 1 << 24


def _all_free_pairs(known: Tensor, n: int, gen: torch.Generator) -> Tensor:
    """Every ``lo < hi`` key not in ``known``, shuffled by ``gen``: O(N^2), for small graphs."""
    every = torch.arange(n * n)
    free = every[(every // n < every % n) & ~torch.isin(every, known)]
    return free[torch.randperm(free.numel(), generator=gen)]


def _free_pairs(known: Tensor, n: int, count: int, gen: torch.Generator) -> Tensor:
    """``count`` distinct random ``lo < hi`` keys not in ``known``, drawn by rejection: O(count) memory, so a
    one-type view of a large knowledge graph (millions of entities) never builds the ``N^2`` pair list. Only
    reached for ``N^2 > 2^24``, where a view sparse enough to train on leaves most pairs free."""
    found = torch.empty(0, dtype=torch.long)
    while found.numel() < count:
        a = torch.randint(n, (2 * count,), generator=gen)
        b = torch.randint(n, (2 * count,), generator=gen)
        keys = torch.minimum(a, b) * n + torch.maximum(a, b)
        found = torch.unique(torch.cat([found, keys[(a != b) & ~torch.isin(keys, known)]]))
    return found[torch.randperm(found.numel(), generator=gen)[:count]]  # unique() sorted them: shuffle


def _pairs(keys: Tensor, n: int) -> Tensor:
    return torch.stack([keys // n, keys % n], dim=1)


def link_view_of_triples(split: Dict[str, Dict[str, Tensor]], num_nodes: int, name: str,
                         num_negatives: int = 1000, seed: int = 0, metric: str = "hits@20",
                         path: Optional[Path] = None) -> OGBDataset:
    """The homogeneous view of ``split`` (``{"train"|"valid"|"test": {"head", "tail", ...}}``, ogbl-biokg's
    layout) over ``num_nodes`` entities; see the module's docstring."""
    for part in ("train", "valid", "test"):
        if part not in split or not {"head", "tail"} <= set(split[part]):
            raise ValueError(f"split[{part!r}] must hold 'head' and 'tail'; got {sorted(split.get(part, {}))}")
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be at least 1, got {num_negatives}")
    n = int(num_nodes)
    train = _pair_keys(split["train"]["head"], split["train"]["tail"], n)
    valid = _pair_keys(split["valid"]["head"], split["valid"]["tail"], n)
    valid = valid[~torch.isin(valid, train)]
    test = _pair_keys(split["test"]["head"], split["test"]["tail"], n)
    test = test[~torch.isin(test, torch.cat([train, valid]))]
    known = torch.cat([train, valid, test])  # disjoint sorted sets of lo < hi keys
    num_free = n * (n - 1) // 2 - known.numel()
    k = min(num_negatives, num_free // 2)
    if k == 0:  # e.g. pykeen's Kinships: every pair of its 104 people is related by some term
        raise ValueError(f"{name}: {num_free} of the {n * (n - 1) // 2} node pairs are joined by no triple, too "
                         "few for validation and test negatives (the homogeneous view is a complete graph)")
    gen = torch.Generator().manual_seed(seed)
    order = _free_pairs(known, n, 2 * k, gen) if n * n > _ENUMERATE else _all_free_pairs(known, n, gen)
    pairs = _pairs(train, n)
    graph = Graph(edge_index=torch.cat([pairs, pairs.flip(1)]).t().contiguous(), num_nodes=n)  # both directions
    out = {"train": {"edge": pairs},
           "valid": {"edge": _pairs(valid, n), "edge_neg": _pairs(order[:k], n)},
           "test": {"edge": _pairs(test, n), "edge_neg": _pairs(order[k:2 * k], n)}}
    meta = {"eval metric": metric, "task type": "link prediction", "num nodes": str(n)}
    return OGBDataset(name=name, meta=meta, path=Path(path) if path else Path("."), split=out, evaluator=None,
                      eval_metric=metric, task_type="link prediction", graph=graph)


def homogeneous_link_view(ds: Any, num_negatives: int = 1000, seed: int = 0) -> OGBDataset:
    """The homogeneous view of a loaded knowledge-graph data set in ogbl-biokg's format (one entity type, e.g.
    ``load_ogb("ogbl-umls")``), named ``<name>-homogeneous``."""
    g = ds.graph
    counts = getattr(g, "num_nodes_dict", None) or (g.get("num_nodes_dict") if isinstance(g, dict) else None)
    if not counts or len(counts) != 1:
        raise ValueError(f"{ds.name}: a homogeneous view needs exactly one node type, got {sorted(counts or {})}")
    return link_view_of_triples(ds.split, int(next(iter(counts.values()))), f"{ds.name}-homogeneous",
                                num_negatives, seed, path=getattr(ds, "path", None))
