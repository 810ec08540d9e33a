r"""Neighbourhood graphs of point clouds: k nearest neighbours and fixed-radius balls.

Both return an ``edge_index`` ``[2, E]`` whose edges flow from the neighbour (source, ``edge_index[0]``) to
the centre (target, ``edge_index[1]``), as PyG's ``knn_graph``/``radius_graph`` do with
``flow="source_to_target"``. Edges are grouped by centre in ascending order; within a centre the neighbours
come nearest first (ties broken by the lower index). Points of different clouds (``batch``) are never joined.

Two exact back ends, chosen per call (``method="auto"``) from the measurements in ``benchmarks/RESULTS.md``:

* ``"brute"``: padded, chunked ``torch.cdist`` + ``topk`` over all clouds at once. Wins for small clouds,
  for high-dimensional features (DGCNN's dynamic graphs) and on GPUs. Memory is bounded by chunking.
* ``"kdtree"``: ``scipy.spatial.cKDTree`` per cloud (float64). Wins for large low-dimensional clouds.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from graphkit.ops._checks import check_positive_int

__all__ = ["knn_graph", "radius_graph", "nearest_neighbors"]

_METHODS = ("auto", "brute", "kdtree")
# Element budget for one distance block (float32: 4 bytes each, so about 128 MB).
_BLOCK = 1 << 25
# Above this many points in the largest cloud, and at most this many dimensions, the k-d tree wins on CPU.
_KDTREE_MIN_POINTS = 128
_KDTREE_MAX_DIM = 32


def _check_inputs(pos: Tensor, batch: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
    if not isinstance(pos, Tensor):
        raise TypeError(f"pos must be a torch.Tensor, got {type(pos).__name__}")
    if pos.dim() == 1:
        pos = pos.unsqueeze(1)
    if pos.dim() != 2:
        raise ValueError(f"pos must have shape [N, D], got {list(pos.shape)}")
    if not pos.is_floating_point():
        raise TypeError(f"pos must be a floating-point tensor, got dtype {pos.dtype}")
    if pos.numel() and not bool(torch.isfinite(pos).all()):
        bad = (~torch.isfinite(pos)).nonzero()[0].tolist()
        raise ValueError(f"pos has a non-finite value {pos[tuple(bad)].item()} at {bad}")
    if batch is None:
        return pos.detach(), None
    if not isinstance(batch, Tensor) or batch.is_floating_point() or batch.dtype == torch.bool:
        raise TypeError(f"batch must be an integer tensor, got {getattr(batch, 'dtype', type(batch).__name__)}")
    if batch.dim() != 1 or batch.numel() != pos.size(0):
        raise ValueError(f"batch must have shape [{pos.size(0)}] (one graph id per point), got {list(batch.shape)}")
    if batch.numel() and int(batch.min()) < 0:
        raise ValueError(f"batch has negative graph id {int(batch.min())}")
    return pos.detach(), batch.to(device=pos.device, dtype=torch.long)


def _group(batch: Optional[Tensor], n: int, device: torch.device) -> Tuple[Optional[Tensor], Tensor]:
    """``(perm, ptr)``: ``perm`` sorts points by cloud (``None`` when already sorted), ``ptr`` the offsets."""
    if batch is None or n == 0:
        return None, torch.tensor([0, n], device=device)
    perm = None
    if n > 1 and bool((batch[1:] < batch[:-1]).any()):
        perm = torch.sort(batch, stable=True).indices
        batch = batch[perm]
    counts = torch.bincount(batch)
    counts = counts[counts > 0]
    ptr = counts.new_zeros(counts.numel() + 1)
    torch.cumsum(counts, 0, out=ptr[1:])
    return perm, ptr


def _pick_method(method: str, pos: Tensor, ptr: Tensor) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method != "auto":
        return method
    largest = int((ptr[1:] - ptr[:-1]).max()) if ptr.numel() > 1 else 0
    if pos.is_cuda or pos.size(1) > _KDTREE_MAX_DIM or largest < _KDTREE_MIN_POINTS:
        return "brute"
    return "kdtree"


def _brute(pos: Tensor, ptr: Tensor, kk: int) -> Tuple[Tensor, Tensor]:
    """For every point, the ``kk`` nearest points of its own cloud: ``(dist [N, kk], index [N, kk])``.

    Missing neighbours (a cloud smaller than ``kk``) get distance ``inf`` and index ``-1``.
    """
    n, dim = pos.shape
    counts = ptr[1:] - ptr[:-1]
    num_clouds, largest = counts.numel(), int(counts.max())
    kk_eff = min(kk, largest)
    dist_out = pos.new_full((n, kk), float("inf"))
    idx_out = torch.full((n, kk), -1, dtype=torch.long, device=pos.device)
    if num_clouds * largest > 2 * n + 1024:
        # Sizes differ too much for padding to pay: one cloud at a time.
        for c in range(num_clouds):
            a, b = int(ptr[c]), int(ptr[c + 1])
            d, i = _brute(pos[a:b], ptr.new_tensor([0, b - a]), kk)
            dist_out[a:b], idx_out[a:b] = d, torch.where(i >= 0, i + a, i)
        return dist_out, idx_out
    cloud_of = torch.repeat_interleave(torch.arange(num_clouds, device=pos.device), counts)
    slot = torch.arange(n, device=pos.device) - ptr[:-1][cloud_of]
    padded = pos.new_zeros(num_clouds, largest, dim)
    padded[cloud_of, slot] = pos
    pad_mask = torch.arange(largest, device=pos.device)[None, :] >= counts[:, None]  # [B, largest]
    clouds_per_block = max(1, _BLOCK // (largest * largest))
    rows_per_block = max(1, min(largest, _BLOCK // largest))
    local_d = pos.new_full((num_clouds, largest, kk), float("inf"))
    local_i = torch.full((num_clouds, largest, kk), -1, dtype=torch.long, device=pos.device)
    for c0 in range(0, num_clouds, clouds_per_block):
        c1 = min(num_clouds, c0 + clouds_per_block)
        for r0 in range(0, largest, rows_per_block):
            r1 = min(largest, r0 + rows_per_block)
            d = torch.cdist(padded[c0:c1, r0:r1], padded[c0:c1])  # [b, rows, largest]
            d.masked_fill_(pad_mask[c0:c1, None, :], float("inf"))
            dist, index = torch.topk(d, kk_eff, dim=2, largest=False, sorted=True)
            local_d[c0:c1, r0:r1, :kk_eff] = dist
            local_i[c0:c1, r0:r1, :kk_eff] = index
    dist_out = local_d[cloud_of, slot]
    idx = local_i[cloud_of, slot]
    valid = torch.isfinite(dist_out)
    idx_out = torch.where(valid, idx + ptr[:-1][cloud_of, None], torch.full_like(idx, -1))
    return dist_out, idx_out


def _kdtree(pos: Tensor, ptr: Tensor, kk: int, upper: float = float("inf"), workers: int = 1) -> Tuple[Tensor, Tensor]:
    from scipy.spatial import cKDTree

    points = pos.cpu().double().numpy()
    n = points.shape[0]
    if ptr.numel() == 2 and kk <= n and upper == float("inf"):
        # One cloud, every slot fillable: hand scipy's arrays over without the padding copies below.
        d, i = cKDTree(points).query(points, k=kk, workers=workers)
        d, i = d.reshape(n, kk), i.reshape(n, kk)
        index = torch.from_numpy(i.astype(np.int64, copy=False)).to(pos.device)
        return torch.from_numpy(d).to(pos.device, pos.dtype), index
    dist_out = np.full((n, kk), np.inf)
    idx_out = np.full((n, kk), -1, dtype=np.int64)
    bounds = ptr.tolist()
    for a, b in zip(bounds[:-1], bounds[1:]):
        tree = cKDTree(points[a:b])
        d, i = tree.query(points[a:b], k=kk, distance_upper_bound=upper, workers=workers)
        d, i = d.reshape(b - a, kk), i.reshape(b - a, kk)
        found = np.isfinite(d)
        dist_out[a:b] = d
        idx_out[a:b] = np.where(found, i + a, -1)
    return torch.from_numpy(dist_out).to(pos.device, pos.dtype), torch.from_numpy(idx_out).to(pos.device)


def nearest_neighbors(
    pos: Tensor, k: int, batch: Optional[Tensor] = None, method: str = "auto", num_workers: int = 1
) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest points of each point's own cloud (itself included): ``(dist [N, k], index [N, k])``.

    Sorted nearest first; slots a small cloud cannot fill hold ``inf`` and ``-1``.
    """
    return _nearest(pos, k, batch, method, num_workers, float("inf"))


def _nearest(
    pos: Tensor, k: int, batch: Optional[Tensor], method: str, num_workers: int, upper: float
) -> Tuple[Tensor, Tensor]:
    pos, batch = _check_inputs(pos, batch)
    perm, ptr = _group(batch, pos.size(0), pos.device)
    sorted_pos = pos if perm is None else pos[perm]
    chosen = _pick_method(method, sorted_pos, ptr)
    if pos.size(0) == 0:
        return pos.new_empty(0, k), torch.empty(0, k, dtype=torch.long, device=pos.device)
    if chosen == "kdtree":
        # cKDTree's bound is strict; nudge it so that a neighbour at exactly ``upper`` is found.
        dist, idx = _kdtree(sorted_pos, ptr, k, float(np.nextafter(upper, np.inf)), num_workers)
    else:
        dist, idx = _brute(sorted_pos, ptr, k)
    if perm is not None:
        idx = torch.where(idx >= 0, perm[idx.clamp(min=0)], idx)
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(perm.numel(), device=perm.device)
        dist, idx = dist[inverse], idx[inverse]
    return dist, idx


def _to_edges(idx: Tensor, keep: Optional[Tensor], loop: bool, limit: int, flow: str) -> Tensor:
    """Turn per-centre neighbour lists into ``edge_index``, dropping self (unless ``loop``) and over-``limit``."""
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    n = idx.size(0)
    ids = torch.arange(n, device=idx.device)
    first = 0 if loop else 1
    if keep is None and idx.size(1) >= first + limit and n and bool((idx[:, first + limit - 1] >= 0).all()):
        # Fast path (every cloud has enough points, no duplicates): the point itself is column 0.
        if loop or bool((idx[:, 0] == ids).all()):
            source = idx[:, first:first + limit].reshape(-1)
            target = ids.repeat_interleave(limit)
            return torch.stack([source, target] if flow == "source_to_target" else [target, source])
    if keep is None:
        keep = torch.ones_like(idx, dtype=torch.bool)
    centre = ids[:, None].expand_as(idx)
    keep = keep & (idx >= 0)
    if not loop:
        keep = keep & (idx != centre)
    # Keep the first ``limit`` survivors of each row: with duplicate points ``self`` is not always first.
    keep = keep & (torch.cumsum(keep.long(), dim=1) <= limit)
    source, target = idx[keep], centre[keep]
    return torch.stack([source, target] if flow == "source_to_target" else [target, source])


def knn_graph(
    pos: Tensor,
    k: int,
    batch: Optional[Tensor] = None,
    loop: bool = False,
    flow: str = "source_to_target",
    method: str = "auto",
    num_workers: int = 1,
) -> Tensor:
    r"""Edges from each point's ``k`` nearest neighbours (Euclidean) to the point itself.

    :math:`\mathcal{N}(i) = \operatorname{arg\,min}^{(k)}_{j \ne i,\ b_j = b_i} \lVert p_j - p_i \rVert_2`;
    edge ``(j, i)`` for every ``j`` in :math:`\mathcal{N}(i)`. A cloud with ``n <= k`` points gives each point its
    ``n - 1`` others. ``loop=True`` counts the point itself as one of its ``k`` neighbours (as PyG does).

    Shapes:
        - pos: ``(N, D)`` floating point, finite; batch: ``(N,)`` graph id per point (need not be sorted)
        - output: ``(2, N k)`` int64 (fewer when clouds are smaller than ``k + 1``)

    >>> pos = torch.tensor([[0.0], [1.0], [3.0]])
    >>> knn_graph(pos, k=1).tolist()
    [[1, 0, 1], [0, 1, 2]]
    """
    check_positive_int("k", k)
    dist, idx = nearest_neighbors(pos, k if loop else k + 1, batch, method, num_workers)
    return _to_edges(idx, None, loop, k, flow)


def radius_graph(
    pos: Tensor,
    r: float,
    batch: Optional[Tensor] = None,
    loop: bool = False,
    max_num_neighbors: int = 32,
    flow: str = "source_to_target",
    method: str = "auto",
    num_workers: int = 1,
) -> Tensor:
    r"""Edges from every point within distance ``r`` (inclusive) to the centre, at most ``max_num_neighbors`` each.

    :math:`\mathcal{N}(i) = \{ j \ne i : b_j = b_i,\ \lVert p_j - p_i \rVert_2 \le r \}`, truncated to its
    ``max_num_neighbors`` nearest members (PyG keeps an arbitrary subset; ours is the nearest, so deterministic).

    Shapes:
        - pos: ``(N, D)``; batch: ``(N,)``
        - output: ``(2, E)`` int64, ``E <= N * max_num_neighbors``

    >>> radius_graph(torch.tensor([[0.0], [1.0], [3.0]]), r=1.5).tolist()
    [[1, 0], [0, 1]]
    """
    if not isinstance(r, (int, float)) or isinstance(r, bool) or not r >= 0 or r == float("inf"):
        raise ValueError(f"r must be a finite non-negative number, got {r!r}")
    check_positive_int("max_num_neighbors", max_num_neighbors)
    kk = max_num_neighbors if loop else max_num_neighbors + 1
    dist, idx = _nearest(pos, kk, batch, method, num_workers, float(r))
    return _to_edges(idx, dist <= r, loop, max_num_neighbors, flow)

