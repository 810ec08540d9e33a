"""Sorting, de-duplicating and symmetrising edge lists: ``sort_edge_index``, ``coalesce``, ``to_undirected``,
``is_undirected`` (PyG's names and semantics)."""
from __future__ import annotations

from typing import Any, List, Optional, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.utils._checks import as_edge_index, check_edge_rows, num_nodes_of

__all__ = ["sort_edge_index", "coalesce", "to_undirected", "is_undirected"]

#: Marks "no ``edge_attr`` argument": the function then returns the ``edge_index`` alone, as PyG does.
MISSING: Any = "???"
Attr = Union[None, Tensor, List[Tensor]]
_OPS_REDUCES = {"add": "sum", "sum": "sum", "mean": "mean", "max": "max", "min": "min"}
_TORCH_REDUCES = {"add": "sum", "sum": "sum", "mean": "mean", "max": "amax", "min": "amin", "mul": "prod"}


def _attrs(edge_attr: Attr, num_edges: int) -> List[Tensor]:
    items = [] if edge_attr is None or edge_attr is MISSING else (
        list(edge_attr) if isinstance(edge_attr, (list, tuple)) else [edge_attr])
    for i, a in enumerate(items):
        check_edge_rows("edge_attr" if len(items) == 1 else f"edge_attr[{i}]", a, num_edges)
    return items


def _pack(edge_index: Tensor, edge_attr: Attr, items: List[Tensor]) -> Any:
    if edge_attr is MISSING:
        return edge_index
    if edge_attr is None:
        return edge_index, None
    return edge_index, (items if isinstance(edge_attr, (list, tuple)) else items[0])


def reduce_rows(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    """Reduce rows of ``src`` by ``index``: floats on graphkit's scatter kernel, other dtypes (and ``mul``) in torch."""
    if reduce not in _TORCH_REDUCES:
        raise ValueError(f"reduce must be one of {sorted(_TORCH_REDUCES)}, got {reduce!r}")
    if src.is_floating_point() and reduce in _OPS_REDUCES:
        return ops.scatter(src, index, dim_size=dim_size, reduce=_OPS_REDUCES[reduce])
    out = src.new_zeros((dim_size,) + tuple(src.shape[1:]))
    idx = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    if reduce == "mean" and not src.is_floating_point():
        # As PyG: the mean of integers is a float (of torch's default dtype).
        total = out.scatter_add(0, idx, src).to(torch.get_default_dtype())
        count = torch.bincount(index, minlength=dim_size).clamp(min=1)
        return total / count.view(-1, *([1] * (src.dim() - 1)))
    return out.scatter_reduce(0, idx, src, _TORCH_REDUCES[reduce], include_self=False)


def sort_edge_index(edge_index: Tensor, edge_attr: Attr = MISSING, num_nodes: Optional[int] = None,
                    sort_by_row: bool = True) -> Any:
    """Sort the edges by (source, target) (``sort_by_row=False``: by (target, source)); stable, attributes follow.

    >>> sort_edge_index(torch.tensor([[2, 0, 1], [0, 1, 0]])).tolist()
    [[0, 1, 2], [1, 0, 0]]
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    items = _attrs(edge_attr, edge_index.size(1))
    first, second = (edge_index[0], edge_index[1]) if sort_by_row else (edge_index[1], edge_index[0])
    perm = torch.sort(first * max(n, 1) + second, stable=True).indices
    return _pack(edge_index[:, perm], edge_attr, [a[perm] for a in items])


def coalesce(edge_index: Tensor, edge_attr: Attr = MISSING, num_nodes: Optional[int] = None,
             reduce: str = "sum", is_sorted: bool = False, sort_by_row: bool = True) -> Any:
    """Sort the edges (as :func:`sort_edge_index`) and merge duplicates, reducing their attributes with ``reduce``
    (``"sum"``/``"add"``, ``"mean"``, ``"max"``, ``"min"``, ``"mul"``).

    Returns ``edge_index`` alone when ``edge_attr`` is not passed, else ``(edge_index, edge_attr)``.

    >>> ei, w = coalesce(torch.tensor([[1, 0, 1], [0, 1, 0]]), torch.tensor([1.0, 2.0, 3.0]))
    >>> ei.tolist(), w.tolist()
    ([[0, 1], [1, 0]], [2.0, 4.0])
    """
    edge_index = as_edge_index(edge_index)
    n = max(num_nodes_of(edge_index, num_nodes), 1)
    items = _attrs(edge_attr, edge_index.size(1))
    first, second = (edge_index[0], edge_index[1]) if sort_by_row else (edge_index[1], edge_index[0])
    key = first * n + second
    if not is_sorted:
        key, perm = torch.sort(key, stable=True)
        edge_index = edge_index[:, perm]
        items = [a[perm] for a in items]
    if key.numel() == 0:
        return _pack(edge_index, edge_attr, items)
    new = torch.ones_like(key, dtype=torch.bool)
    new[1:] = key[1:] != key[:-1]
    if bool(new.all()):
        return _pack(edge_index, edge_attr, items)
    group = torch.cumsum(new, 0) - 1
    num = int(group[-1]) + 1
    out = edge_index[:, new]
    return _pack(out, edge_attr, [reduce_rows(a, group, num, reduce) for a in items])


def to_undirected(edge_index: Tensor, edge_attr: Attr = MISSING, num_nodes: Optional[int] = None,
                  reduce: str = "add") -> Any:
    """Add the reverse of every edge, then :func:`coalesce` (duplicates merged with ``reduce``).

    >>> to_undirected(torch.tensor([[0, 1], [1, 2]])).tolist()
    [[0, 1, 1, 2], [1, 0, 2, 1]]
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    items = _attrs(edge_attr, edge_index.size(1))
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    doubled = [torch.cat([a, a], dim=0) for a in items]
    arg: Attr = MISSING if edge_attr is MISSING else None if edge_attr is None else (
        doubled if isinstance(edge_attr, (list, tuple)) else doubled[0])
    return coalesce(both, arg, n, reduce=reduce)


def is_undirected(edge_index: Tensor, edge_attr: Attr = None, num_nodes: Optional[int] = None) -> bool:
    """Whether every edge (with its attribute, when given) has its reverse, with the same multiplicity.

    >>> is_undirected(torch.tensor([[0, 1], [1, 0]])), is_undirected(torch.tensor([[0], [1]]))
    (True, False)
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    items = _attrs(edge_attr, edge_index.size(1))
    fwd, fwd_attr = sort_edge_index(edge_index, items, n, sort_by_row=True)
    bwd, bwd_attr = sort_edge_index(fwd, fwd_attr, n, sort_by_row=False)
    if not (torch.equal(fwd[0], bwd[1]) and torch.equal(fwd[1], bwd[0])):
        return False
    return all(torch.equal(a, b) for a, b in zip(fwd_attr, bwd_attr))
