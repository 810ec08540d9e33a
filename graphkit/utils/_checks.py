"""Input checks shared by the ``graphkit.utils`` functions: errors name the argument and the offending value."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor


def as_edge_index(edge_index: Any, name: str = "edge_index") -> Tensor:
    """``edge_index`` as a ``[2, E]`` int64 tensor, or a ``TypeError``/``ValueError`` that names it."""
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.is_floating_point() or edge_index.is_complex() or edge_index.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got {list(edge_index.shape)}")
    if edge_index.numel() and int(edge_index.min()) < 0:
        raise ValueError(f"{name} has negative index {int(edge_index.min())}")
    return edge_index.long()


def num_nodes_of(edge_index: Tensor, num_nodes: Optional[int] = None) -> int:
    """``num_nodes`` when given (checked against ``edge_index``), else the largest index + 1 (PyG's rule)."""
    top = int(edge_index.max()) + 1 if edge_index.numel() else 0
    if num_nodes is None:
        return top
    num_nodes = int(num_nodes)
    if num_nodes < 0:
        raise ValueError(f"num_nodes must be non-negative, got {num_nodes}")
    if top > num_nodes:
        raise ValueError(f"edge_index has index {top - 1} but num_nodes is {num_nodes}")
    return num_nodes


def check_edge_rows(name: str, value: Optional[Tensor], num_edges: int) -> None:
    """A per-edge tensor must have one row per edge."""
    if value is None:
        return
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() == 0 or value.size(0) != num_edges:
        raise ValueError(f"{name} must have {num_edges} rows (one per edge), got shape {list(value.shape)}")
