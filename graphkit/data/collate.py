"""Collate a list of graphs into one ``Batch``: pass ``collate_fn=graphkit.data.collate`` to a DataLoader."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

from graphkit.batch import Batch
from graphkit.graph import Graph

__all__ = ["collate"]


def collate(items: Sequence[Union[Graph, Tuple[Graph, ...]]]) -> Union[Batch, Tuple[Batch, ...]]:
    """``Batch.from_graphs(items)``; a list of tuples of graphs (e.g. pairs) gives a tuple of batches."""
    if items and isinstance(items[0], tuple):
        return tuple(Batch.from_graphs(list(column)) for column in zip(*items))
    return Batch.from_graphs(items)  # type: ignore[arg-type]
