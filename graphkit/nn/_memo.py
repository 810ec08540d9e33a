"""``memo(adj, key, build)``: the one way nn layers cache structure derived from a graph (self-loop structure,
sheaf index maps), so that it is built once per graph and rebuilt when the graph's edges change.

It defers to the structure's own memo, ``adj.derived(key, build)``, when the structure type has one (the single
sparse-structure type of issue 13, item 2). Until then it keeps the same contract on the ``Graph`` the
``Adjacency`` came from: the entry is dropped when the Graph's ``edge_index`` tensor is replaced or edited in place
(its version counter moves). Nothing is cached for a bare ``edge_index`` (there is no owner to tie the entry to).
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, Tuple, TypeVar

from torch import Tensor

__all__ = ["memo"]

T = TypeVar("T")

# Transitional: used only while the structure type has no ``derived`` (see the module docstring).
_BY_GRAPH: "weakref.WeakKeyDictionary[Any, Dict[str, Tuple[Tensor, int, Any]]]" = weakref.WeakKeyDictionary()


def memo(adj: Any, key: str, build: Callable[[], T]) -> T:
    """``build()``, cached on ``adj``'s graph under ``key`` while that graph's edges are unchanged."""
    if hasattr(adj, "derived"):
        return adj.derived(key, build)
    graph = getattr(adj, "graph", None)
    if graph is None:
        return build()
    # The Graph's own edge_index tensor is held, so it cannot be freed and its address reused.
    ei = getattr(graph, "edge_index", None)
    if not isinstance(ei, Tensor):
        return build()
    entries = _BY_GRAPH.setdefault(graph, {})
    hit = entries.get(key)
    if hit is not None and hit[0] is ei and hit[1] == ei._version:
        return hit[2]
    value = build()
    entries[key] = (ei, ei._version, value)
    return value
