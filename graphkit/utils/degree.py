"""Node degrees from an index vector."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["degree"]


def degree(index: Tensor, num_nodes: Optional[int] = None, dtype: Optional[torch.dtype] = None) -> Tensor:
    """How often each node id occurs in ``index`` (``edge_index[1]``: in-degree, ``edge_index[0]``: out-degree).

    The result has ``num_nodes`` entries (default ``index.max() + 1``) and ``dtype`` (default: torch's default
    float dtype, as in PyG).

    >>> degree(torch.tensor([0, 2, 2])).tolist()
    [1.0, 0.0, 2.0]
    """
    if not isinstance(index, Tensor) or index.is_floating_point() or index.dtype == torch.bool:
        raise TypeError(f"index must be an integer tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    if index.dim() != 1:
        raise ValueError(f"index must be one-dimensional, got shape {list(index.shape)}")
    if index.numel() and int(index.min()) < 0:
        raise ValueError(f"index has negative entry {int(index.min())}")
    top = int(index.max()) + 1 if index.numel() else 0
    n = top if num_nodes is None else int(num_nodes)
    if top > n:
        raise ValueError(f"index has entry {top - 1} but num_nodes is {n}")
    return torch.bincount(index.long(), minlength=n).to(dtype or torch.get_default_dtype())
