"""Node and edge types for layers: ``check_metadata`` (``graphkit.hetero``'s check, plus non-emptiness) and
``TypedModuleDict``, a ``torch.nn.ModuleDict`` keyed by node types (``str``) or edge types (3-tuples of str).

``torch.nn.ModuleDict`` takes only string keys without dots; PyG stores an edge type ``(src, rel, dst)`` under
``"<src___rel___dst>"`` and writes ``.`` as ``#``. The same encoding here makes heterogeneous modules' state_dicts
(``convs.<paper___cites___paper>.lin.weight``) load from and into PyG's unchanged.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import torch

from graphkit import hetero
from graphkit.hetero import EdgeType, Metadata, NodeType

__all__ = ["TypedModuleDict", "NodeType", "EdgeType", "Metadata", "type_key", "check_metadata"]

Key = Union[NodeType, EdgeType]
_CLASS_ATTRS = frozenset(dir(torch.nn.ModuleDict))


def type_key(key: Key) -> str:
    """The ``ModuleDict`` name of a node or edge type (PyG's encoding)."""
    if isinstance(key, tuple):
        if len(key) < 2 or not all(isinstance(k, str) for k in key):
            raise ValueError(f"an edge type must be a tuple of str (src, relation, dst), got {key!r}")
        key = f"<{'___'.join(key)}>"
    if not isinstance(key, str):
        raise ValueError(f"a node type must be a str and an edge type a tuple of str, got {key!r}")
    if key in _CLASS_ATTRS:
        key = f"<{key}>"
    return key.replace(".", "#")


def _external(name: str) -> Key:
    name = name.replace("#", ".")
    if name[:1] == "<" and name[-1:] == ">" and name[1:-1] in _CLASS_ATTRS:
        return name[1:-1]
    if name[:1] == "<" and name[-1:] == ">" and "___" in name:
        return tuple(name[1:-1].split("___"))  # type: ignore[return-value]
    return name


def check_metadata(metadata: Any) -> Metadata:
    """``graphkit.hetero.check_metadata`` (the one check of ``(node_types, edge_types)``), plus what a layer built for
    a metadata needs: at least one node type and one edge type."""
    node_types, edge_types = hetero.check_metadata(metadata)
    if not node_types or not edge_types:
        raise ValueError(f"metadata needs at least one node type and one edge type, got {metadata!r}")
    return node_types, edge_types


class TypedModuleDict(torch.nn.ModuleDict):
    """A ``ModuleDict`` whose keys are node types or edge types (see the module docstring)."""

    def __init__(self, modules: Optional[Mapping[Key, torch.nn.Module]] = None) -> None:
        super().__init__({type_key(k): v for k, v in (modules or {}).items()})

    def __getitem__(self, key: Key) -> torch.nn.Module:  # type: ignore[override]
        return super().__getitem__(type_key(key))

    def __setitem__(self, key: Key, module: torch.nn.Module) -> None:  # type: ignore[override]
        super().__setitem__(type_key(key), module)

    def __contains__(self, key: Key) -> bool:  # type: ignore[override]
        return super().__contains__(type_key(key))

    def keys(self) -> Iterable[Key]:  # type: ignore[override]
        return [_external(k) for k in super().keys()]

    def items(self) -> Iterable[Tuple[Key, torch.nn.Module]]:  # type: ignore[override]
        return [(_external(k), v) for k, v in super().items()]

    def __iter__(self) -> Iterator[Key]:  # type: ignore[override]
        return iter(self.keys())
