"""Pure-torch versions of the kernel primitives (the fallback when ``graphkit._C`` is absent or forced off).

Each has exactly the contract of its compiled twin in ``kernels/`` (see ``_kernels.py``), so the autograd code
above them is shared. They materialise per-edge messages (E x F), which the compiled kernels never do.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["csr_reduce", "sddmm", "softmax_fwd", "softmax_bwd", "rows_of", "sample_neighbors", "gather_rows",
           "segment_matmul", "segment_matmul_wgrad"]


def rows_of(rowptr: Tensor) -> Tensor:
    """Row id of every CSR position: ``[E]`` int64 (the COO row array)."""
    num_rows = rowptr.numel() - 1
    deg = rowptr[1:] - rowptr[:-1]
    e = int(rowptr[-1]) if rowptr.numel() else 0  # rowptr[0] is 0 for every CSR the ops build
    ar = torch.arange(num_rows, device=rowptr.device)
    return torch.repeat_interleave(ar, deg.long(), output_size=e)


def _messages(col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, e: int) -> Tensor:
    msg = x.index_select(0, col.long()) if col is not None else x[:e]
    if weight is not None:
        w = weight.index_select(0, eid.long()) if eid is not None else weight[:e]
        msg = msg * w.unsqueeze(-1)
    return msg


def csr_reduce(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str
) -> Tuple[Tensor, Tensor]:
    num_rows = rowptr.numel() - 1
    row = rows_of(rowptr)
    e = row.numel()
    msg = _messages(col, eid, weight, x, e)
    out = x.new_zeros((num_rows,) + tuple(x.shape[1:]))
    if reduce in ("sum", "mean"):
        out.index_add_(0, row, msg)
        if reduce == "mean":
            deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).to(x.dtype)
            out = out / deg.view(-1, *([1] * (x.dim() - 1)))
        return out, torch.empty(0, dtype=torch.long, device=x.device)
    idx = row.view(-1, *([1] * (x.dim() - 1))).expand_as(msg)
    out.scatter_reduce_(0, idx, msg, "amax" if reduce == "max" else "amin", include_self=False)
    # The first CSR position that attains the extreme is the arg (ties go to the earliest edge, like the kernel).
    # amax/amin propagate NaN, so a group holding NaN came out NaN and its arg is its first NaN; a group of only
    # -inf (max) / +inf (min) matches its first edge. The kernels (kernels/cpu/csr_reduce_tiles.h) do the same.
    pos = torch.arange(e, device=x.device).view(-1, *([1] * (x.dim() - 1))).expand_as(msg)
    picked = out.index_select(0, row)
    attains = (msg == picked) | (msg.isnan() & picked.isnan())
    hit = torch.where(attains, pos, torch.full_like(pos, e))
    arg = torch.full(out.shape, e, dtype=torch.long, device=x.device)
    arg.scatter_reduce_(0, idx, hit, "amin", include_self=True)
    arg[arg == e] = -1
    return out, arg


def sddmm(rowptr: Tensor, col: Tensor, eid: Optional[Tensor], a: Tensor, b: Tensor, op: str) -> Tensor:
    row = rows_of(rowptr)
    at, bs = a.index_select(0, row), b.index_select(0, col.long())
    val = (at * bs).sum(-1) if op == "dot" else (at + bs if op == "add" else at * bs)
    if eid is None:
        return val
    out = torch.empty_like(val)
    out[eid.long()] = val
    return out


def softmax_fwd(rowptr: Tensor, eid: Optional[Tensor], scores: Tensor) -> Tensor:
    row = rows_of(rowptr)
    s = scores.index_select(0, eid.long()) if eid is not None else scores
    num_rows = rowptr.numel() - 1
    idx = row.view(-1, 1).expand_as(s)
    mx = s.new_full((num_rows, s.size(1)), float("-inf")).scatter_reduce_(0, idx, s, "amax", include_self=True)
    ex = (s - mx.index_select(0, row)).exp()
    den = s.new_zeros((num_rows, s.size(1))).index_add_(0, row, ex)
    y = ex / den.index_select(0, row)
    if eid is None:
        return y
    out = torch.empty_like(y)
    out[eid.long()] = y
    return out


def softmax_bwd(rowptr: Tensor, eid: Optional[Tensor], y: Tensor, g: Tensor) -> Tensor:
    # d softmax: grad_s = y * (g - sum_row(y * g)); order-independent, so no permutation is needed.
    row = rows_of(rowptr)
    yg = y * g
    if eid is not None:
        yg_sorted = yg.index_select(0, eid.long())
        dot = yg.new_zeros((rowptr.numel() - 1, y.size(1))).index_add_(0, row, yg_sorted)
        per_edge = torch.empty_like(y)
        per_edge[eid.long()] = dot.index_select(0, row)
    else:
        dot = yg.new_zeros((rowptr.numel() - 1, y.size(1))).index_add_(0, row, yg)
        per_edge = dot.index_select(0, row)
    return yg - y * per_edge


def sample_neighbors(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Vectorised twin of kernels/cpu/sample_neighbors.cpp: per hop, draw positions for the whole frontier at once.

    Same contract and output (``n_id, rowptr_sub, edge_index, e_id, nodes_per_hop, edges_per_hop``), same
    distribution, not the same draws. The CSR is trusted (``graphkit.loader.sample_neighbors`` checks a given one).
    """
    if seeds.numel() != torch.unique(seeds).numel():
        raise ValueError("seeds must be unique; got repeated node ids")
    gen = torch.Generator().manual_seed(seed)
    n_id = seeds.clone()
    srcs, dsts, eids = [], [], []
    nodes_per_hop, edges_per_hop = [seeds.numel()], []
    fs, fe = 0, seeds.numel()
    for k in fanouts:
        local = torch.arange(fs, fe)
        v = n_id[fs:fe]
        begin, deg = rowptr[v], rowptr[v + 1] - rowptr[v]
        if k < 0:
            cnt = deg
        else:
            cnt = torch.where(deg > 0, torch.full_like(deg, k), deg) if replace else deg.clamp(max=k)
        owner = torch.repeat_interleave(torch.arange(v.numel()), cnt)
        if k >= 0 and replace:
            off = (torch.rand(owner.numel(), generator=gen) * deg[owner]).long()
            pos = begin[owner] + torch.minimum(off, deg[owner] - 1)
        else:
            # Take all of small rows; for rows with deg > k keep the k smallest random keys (a uniform subset).
            all_owner = torch.repeat_interleave(torch.arange(v.numel()), deg)
            ptr = torch.zeros(v.numel() + 1, dtype=torch.long)
            torch.cumsum(deg, 0, out=ptr[1:])
            within = torch.arange(all_owner.numel()) - ptr[all_owner]
            keys = torch.rand(all_owner.numel(), generator=gen)
            order = torch.sort(keys, stable=True).indices
            order = order[torch.sort(all_owner[order], stable=True).indices]  # by row, random inside
            rank = torch.arange(order.numel()) - ptr[all_owner[order]]
            keep = order[rank < cnt[all_owner[order]]]
            pos = begin[all_owner[keep]] + within[keep]
        g_src = col[pos]
        # Relabel in order of first appearance (what the C++ path does, so ids are equally meaningful).
        uniq, inv = torch.unique(torch.cat([n_id, g_src]), return_inverse=True)
        first = torch.full((uniq.numel(),), inv.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inv, torch.arange(inv.numel()), reduce="amin")
        new = (first >= n_id.numel()).nonzero().view(-1)
        new = new[torch.argsort(first[new])]
        local_of = torch.empty(uniq.numel(), dtype=torch.long)
        local_of[inv[: n_id.numel()]] = torch.arange(n_id.numel())
        local_of[new] = torch.arange(n_id.numel(), n_id.numel() + new.numel())
        srcs.append(local_of[inv[n_id.numel():]])
        dsts.append(local[owner])
        eids.append(perm[pos])
        n_id = torch.cat([n_id, uniq[new]])
        nodes_per_hop.append(new.numel())
        edges_per_hop.append(pos.numel())
        fs, fe = fe, n_id.numel()
    empty = torch.empty(0, dtype=torch.long)
    src = torch.cat(srcs) if srcs else empty
    dst = torch.cat(dsts) if dsts else empty
    counts = torch.bincount(dst, minlength=n_id.numel()) if dst.numel() else torch.zeros(n_id.numel(), dtype=torch.long)
    rowptr_sub = torch.zeros(n_id.numel() + 1, dtype=torch.long)
    torch.cumsum(counts, 0, out=rowptr_sub[1:])
    return (
        n_id, rowptr_sub, torch.stack([src, dst]), torch.cat(eids) if eids else empty,
        torch.tensor(nodes_per_hop, dtype=torch.long), torch.tensor(edges_per_hop, dtype=torch.long),
    )


def gather_rows(src: Tensor, index: Tensor, out: Tensor) -> Tensor:
    """``out[i] = src[index[i]]`` (twin of kernels/cpu/gather_rows.cpp; checks done by the caller)."""
    return torch.index_select(src, 0, index, out=out)


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """``out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s]``. One ``mm`` per segment over row views: gathering
    ``weight`` per row instead would allocate ``[N, F_in, F_out]``, far more than the loop over S segments costs."""
    sizes = (ptr[1:] - ptr[:-1]).tolist()
    out = x.new_empty(x.size(0), weight.size(2))
    for s, (xs, os_) in enumerate(zip(x.split(sizes), out.split(sizes))):
        torch.mm(xs, weight[s], out=os_)
    return out


def segment_matmul_wgrad(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    """``grad_w[s] = x[ptr[s]:ptr[s+1]]^T @ grad[ptr[s]:ptr[s+1]]`` (0 for an empty segment)."""
    sizes = (ptr[1:] - ptr[:-1]).tolist()
    out = x.new_zeros(len(sizes), x.size(1), grad.size(1))
    for s, (xs, gs) in enumerate(zip(x.split(sizes), grad.split(sizes))):
        if xs.size(0):
            torch.mm(xs.t(), gs, out=out[s])
    return out
