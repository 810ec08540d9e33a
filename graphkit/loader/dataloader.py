"""``DataLoader``: mini-batches of whole graphs, as ``torch_geometric.loader.DataLoader`` gives them.

A ``torch.utils.data.DataLoader`` whose collate function is :func:`graphkit.data.collate`: a list (or any
``Dataset``) of :class:`~graphkit.Graph` becomes :class:`~graphkit.Batch` objects (node ids offset, ``batch`` and
``ptr`` vectors, graph-level fields stacked). Every other argument (``num_workers``, ``sampler``, ``drop_last``,
``generator``, ...) is torch's.

>>> import torch
>>> from graphkit import Graph
>>> graphs = [Graph(x=torch.randn(n, 4), edge_index=torch.tensor([[0], [1]]), y=torch.tensor([n]))
...           for n in (2, 3, 4)]  # a one-element y is a graph label, as in PyG
>>> batches = list(DataLoader(graphs, batch_size=2))
>>> batches[0]
Batch(x=[5, 4], edge_index=[2, 2], y=[2] (graph), num_graphs=2)
>>> batches[1].num_graphs
1
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch.utils.data

from graphkit.data.collate import collate
from graphkit.ops._checks import check_positive_int
from graphkit.transforms.base import Transform, apply_transform, check_transform

__all__ = ["DataLoader"]


class _CollateThenTransform:
    """``collate`` then ``transform`` on the batch (a class, not a closure, so worker processes can pickle it)."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    def __call__(self, items: Sequence[Any]) -> Any:
        out = collate(items)
        if isinstance(out, tuple):
            return tuple(apply_transform(self.transform, b) for b in out)
        return apply_transform(self.transform, out)


class DataLoader(torch.utils.data.DataLoader):
    """Batches of graphs from ``dataset`` (a sequence of ``Graph``, or of tuples of them: a tuple of batches).

    Args:
        dataset: the graphs (a list, or a ``torch.utils.data.Dataset`` whose items are graphs).
        batch_size: graphs per batch.
        shuffle: draw a new order every epoch (torch's global generator unless ``generator=`` is given).
        transform: applied to every batch (a ``graphkit.transforms`` transform runs graph by graph), as the
            sampling loaders apply theirs; a data set's own ``transform=`` runs on each graph before collation.
        **kwargs: any other ``torch.utils.data.DataLoader`` argument except ``collate_fn``.
    """

    def __init__(self, dataset: Sequence[Any], batch_size: int = 1, shuffle: bool = False,
                 follow_batch: Optional[Sequence[str]] = None, exclude_keys: Optional[Sequence[str]] = None,
                 transform: Optional[Transform] = None, **kwargs: Any) -> None:
        check_positive_int("batch_size", batch_size)
        if follow_batch or exclude_keys:
            raise ValueError("follow_batch and exclude_keys are not supported: a Batch already has `batch` and "
                             "`ptr` for its nodes; drop unwanted fields from the graphs before loading")
        if "collate_fn" in kwargs:
            raise ValueError("DataLoader collates graphs itself; for another collate_fn use "
                             "torch.utils.data.DataLoader")
        self.transform = check_transform(transform, "transform")
        collate_fn = collate if transform is None else _CollateThenTransform(transform)
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_fn, **kwargs)
