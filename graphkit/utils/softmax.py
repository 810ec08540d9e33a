"""Sparse softmax over groups of rows (attention normalisation), on graphkit's ``edge_softmax`` kernel."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphkit import ops

__all__ = ["softmax"]


def softmax(src: Tensor, index: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
            num_nodes: Optional[int] = None, dim: int = 0) -> Tensor:
    r"""Softmax of ``src`` within each group of rows along ``dim``:
    :math:`\mathrm{out}_e = \exp(s_e - m_g) / \sum_{e' \in g} \exp(s_{e'} - m_g)`, :math:`m_g = \max_{e' \in g}
    s_{e'}`. Groups are given by ``index`` (a group id per row) or by CSR offsets ``ptr``.

    Shapes:
        src ``(E, *)``, index ``(E,)`` or ptr ``(G + 1,)`` -> ``(E, *)``.

    >>> softmax(torch.tensor([0.0, 0.0, 5.0]), torch.tensor([1, 1, 0]))
    tensor([0.5000, 0.5000, 1.0000])
    """
    if not isinstance(src, Tensor) or not src.is_floating_point():
        raise TypeError(f"src must be a floating tensor, got {getattr(src, 'dtype', type(src).__name__)}")
    if src.dim() == 0:
        raise ValueError("src must have at least one dimension, got a 0-dim tensor")
    dim = dim + src.dim() if dim < 0 else dim
    if not 0 <= dim < src.dim():
        raise ValueError(f"dim {dim} is out of range for src of shape {list(src.shape)}")
    moved = src.movedim(dim, 0)
    rows = moved.size(0)
    if ptr is not None:
        ptr = ptr.long().view(-1)
        if ptr.numel() == 0 or int(ptr[0]) != 0 or int(ptr[-1]) != rows or bool((ptr[1:] < ptr[:-1]).any()):
            raise ValueError(f"ptr must rise from 0 to src.size({dim}) = {rows}, got {ptr.tolist()}")
        index = torch.repeat_interleave(torch.arange(ptr.numel() - 1, device=src.device), ptr[1:] - ptr[:-1])
        num_nodes = ptr.numel() - 1
    elif index is None:
        raise ValueError("softmax needs either index or ptr")
    if index.dim() != 1 or index.numel() != rows:
        raise ValueError(f"index must have shape [{rows}] (src.size({dim})), got {list(index.shape)}")
    index = index.long()
    n = (int(index.max()) + 1 if index.numel() else 0) if num_nodes is None else int(num_nodes)
    if rows == 0:
        return src.clone()
    # Each row is an "edge" into its group; the source side is unused by the normaliser.
    groups = torch.stack([torch.zeros_like(index), index])
    flat = moved.reshape(rows, -1)
    out = ops.edge_softmax(groups, flat, num_nodes=max(n, 1))
    return out.view(moved.shape).movedim(0, dim)
