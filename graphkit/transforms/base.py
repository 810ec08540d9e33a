"""The transform protocol: a callable ``Graph -> Graph`` that never modifies its input.

A :class:`~graphkit.Batch` is transformed graph by graph (``to_graphs`` -> transform -> ``Batch.from_graphs``),
which is what a PyG user gets when the transform runs on each item of a data set: statistics such as the feature
minimum or the centroid are per graph, and no structure change crosses two graphs.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import Graph

__all__ = ["BaseTransform", "Compose", "fields_of", "new_graph", "check_transform", "apply_transform"]

Fields = Dict[str, Tuple[Any, str]]


def fields_of(graph: Graph) -> Fields:
    """Every field of ``graph`` as ``name -> (value, kind)`` (``edge_index`` excluded)."""
    return {name: (getattr(graph, name), graph.kind(name)) for name in graph.keys()}


def new_graph(num_nodes: int, edge_index: Optional[Tensor], fields: Fields) -> Graph:
    """A ``Graph`` from ``fields`` (``name -> (value, kind)``); every kind is stated, never re-guessed."""
    values = {name: value for name, (value, _) in fields.items()}
    kinds = {name: kind for name, (_, kind) in fields.items()}
    return Graph(edge_index=edge_index, num_nodes=num_nodes, kinds=kinds, **values)


def check_graph(graph: Any, who: str) -> Graph:
    if not isinstance(graph, Graph):
        raise TypeError(f"{who} takes a graphkit.Graph or Batch, got {type(graph).__name__}")
    return graph


Transform = Callable[[Graph], Graph]


def check_transform(transform: Any, name: str = "transform") -> Optional[Transform]:
    """``transform`` if it is callable (or ``None``); else a ``TypeError`` naming the argument. Every data set
    and loader that takes ``transform=`` / ``pre_transform=`` checks it here, when it is given."""
    if transform is not None and not callable(transform):
        raise TypeError(f"{name} must be a callable Graph -> Graph (e.g. graphkit.transforms.NormalizeFeatures()), "
                        f"got {type(transform).__name__}")
    return transform


def apply_transform(transform: Optional[Transform], graph: Graph) -> Graph:
    """``transform(graph)``, or ``graph`` itself without one: what a data set does on every access and a loader
    on every batch (PyG's semantics: never stored, so a random transform draws anew each time)."""
    return graph if transform is None else transform(graph)


class BaseTransform:
    """Subclasses implement :meth:`forward` for one graph; calling the transform handles batches."""

    def __call__(self, graph: Graph) -> Graph:
        check_graph(graph, type(self).__name__)
        if isinstance(graph, Batch):
            return Batch.from_graphs([self.forward(g) for g in graph.to_graphs()])
        return self.forward(graph)

    def forward(self, graph: Graph) -> Graph:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Compose(BaseTransform):
    """Apply ``transforms`` one after the other.

    >>> import torch
    >>> from graphkit.transforms import AddSelfLoops, ToUndirected
    >>> g = Graph(edge_index=torch.tensor([[0], [1]]))
    >>> Compose([ToUndirected(), AddSelfLoops()])(g).edge_index.tolist()
    [[0, 1, 0, 1], [1, 0, 0, 1]]
    """

    def __init__(self, transforms: Sequence[Callable[[Graph], Graph]]) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] is not callable: {t!r}")

    def __call__(self, graph: Graph) -> Any:
        for t in self.transforms:
            graph = t(graph)
        return graph

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {t!r}" for t in self.transforms)
        return f"{type(self).__name__}([\n{inner}\n])"
