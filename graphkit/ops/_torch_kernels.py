"""Pure-torch versions of the kernel primitives (the fallback when ``graphkit._C`` is absent or forced off).

Each has exactly the contract of its compiled twin in ``kernels/`` (see ``_kernels.py``), so the autograd code
above them is shared. They materialise per-edge messages (E x F), which the compiled kernels never do.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["csr_reduce", "epilogue", "sddmm", "softmax_fwd", "softmax_bwd", "rows_of", "sample_neighbors",
           "sample_neighbors_typed", "group_typed", "gather_rows",
           "random_walk", "induced_subgraph", "saint_sample", "shadow_k_hop", "segment_matmul", "segment_matmul_wgrad"]


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


def epilogue(out: Tensor, x: Tensor, diag: Optional[Tensor], bias: Optional[Tensor], act: str) -> Tensor:
    """The reference of ``csr_reduce_epilogue``'s epilogue on a reduced ``out [R, H, F]``: ``act(out + diag[r] *
    x[r] + bias)``, ``diag [D]`` for the first ``D`` rows, ``bias [H * F]``, ``act`` ``"none"`` or ``"relu"``.
    Plain differentiable torch ops (not in place): it is also the CUDA path's epilogue."""
    if diag is not None:
        d = diag.numel()
        out = torch.cat([out[:d] + diag.view(-1, 1, 1) * x[:d], out[d:]]) if d < out.size(0) else (
            out + diag.view(-1, 1, 1) * x[:d])
    if bias is not None:
        out = out + bias.view(1, x.size(1), x.size(2))
    return torch.relu(out) if act == "relu" else out


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


def _draw(begin: Tensor, deg: Tensor, k: Tensor, replace: bool, gen: torch.Generator) -> Tuple[Tensor, Tensor]:
    """``(owner, pos)``: for each row ``i`` (edges ``begin[i] .. + deg[i]``) up to ``k[i]`` edge positions
    (``-1``: all), uniform with or without replacement; positions come grouped by row in row order."""
    every = k < 0
    cnt = torch.where(every, deg, torch.where(deg > 0, k, 0) if replace else torch.minimum(deg, k.clamp(min=0)))
    owner = torch.repeat_interleave(torch.arange(deg.numel()), cnt)
    if replace and not bool(every.any()):
        off = (torch.rand(owner.numel(), generator=gen) * deg[owner]).long()
        return owner, begin[owner] + torch.minimum(off, deg[owner] - 1)
    if replace:  # rows with k = -1 take all, the others draw with replacement: one pass each, then regroup
        o_all, p_all = _draw(begin, torch.where(every, deg, 0), torch.full_like(k, -1), False, gen)
        o_rep, p_rep = _draw(begin, torch.where(every, 0, deg), k.clamp(min=0), True, gen)
        owner, pos = torch.cat([o_all, o_rep]), torch.cat([p_all, p_rep])
        order = torch.sort(owner, stable=True).indices
        return owner[order], pos[order]
    # Take all of small rows; for rows with deg > k keep the k smallest random keys (a uniform subset).
    all_owner = torch.repeat_interleave(torch.arange(deg.numel()), deg)
    ptr = torch.zeros(deg.numel() + 1, dtype=torch.long)
    torch.cumsum(deg, 0, out=ptr[1:])
    within = torch.arange(all_owner.numel()) - ptr[all_owner]
    keys = torch.rand(all_owner.numel(), generator=gen)
    order = torch.sort(keys, stable=True).indices
    order = order[torch.sort(all_owner[order], stable=True).indices]  # by row, random inside
    rank = torch.arange(order.numel()) - ptr[all_owner[order]]
    chosen = torch.zeros(all_owner.numel(), dtype=torch.bool)
    chosen[order[rank < cnt[all_owner[order]]]] = True
    keep = chosen.nonzero().view(-1)  # in CSR order inside each row, as the kernel takes a row it takes whole
    return all_owner[keep], begin[all_owner[keep]] + within[keep]


def _relabel(n_id: Tensor, g_src: Tensor) -> Tuple[Tensor, Tensor]:
    """``(local ids of g_src, n_id extended by its new nodes)``, new nodes numbered in order of first appearance
    (what the C++ path does, so ids are equally meaningful)."""
    uniq, inv = torch.unique(torch.cat([n_id, g_src]), return_inverse=True)
    first = torch.full((uniq.numel(),), inv.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inv, torch.arange(inv.numel()), reduce="amin")
    new = (first >= n_id.numel()).nonzero().view(-1)
    new = new[torch.argsort(first[new])]
    local_of = torch.empty(uniq.numel(), dtype=torch.long)
    local_of[inv[: n_id.numel()]] = torch.arange(n_id.numel())
    local_of[new] = torch.arange(n_id.numel(), n_id.numel() + new.numel())
    return local_of[inv[n_id.numel():]], torch.cat([n_id, uniq[new]])


def _assemble(n_id: Tensor, srcs: List[Tensor], dsts: List[Tensor], eids: List[Tensor], nodes_per_hop: List[int],
              edges_per_hop: List[int]) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
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
        v = n_id[fs:fe]
        begin, deg = rowptr[v], rowptr[v + 1] - rowptr[v]
        owner, pos = _draw(begin, deg, torch.full_like(deg, k), replace, gen)
        local_src, n_id = _relabel(n_id, col[pos])
        srcs.append(local_src)
        dsts.append(fs + owner)
        eids.append(perm[pos])
        nodes_per_hop.append(n_id.numel() - fe)
        edges_per_hop.append(pos.numel())
        fs, fe = fe, n_id.numel()
    return _assemble(n_id, srcs, dsts, eids, nodes_per_hop, edges_per_hop)


def sample_neighbors_typed(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, node_ptr: Tensor, edge_ptr: Tensor, rel_row_off: Tensor,
    rel_src_type: Tensor, rel_dst_type: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[List[Tensor], List[Tensor], List[Tensor], Tensor, Tensor]:
    """Vectorised twin of ``sample_neighbors_typed`` (kernels/cpu/sample_neighbors_typed.cpp): each frontier node is
    one row per relation into its type (``rel_row_off[r] + id within the type``) with that relation's fan-out; then
    the sample is grouped by type and relation with plain torch ops (the reference construction of the kernel's
    output). Same output structure and distribution as the kernel, not the same draws."""
    if seeds.numel() != torch.unique(seeds).numel():
        raise ValueError("seeds must be unique; got repeated node ids")
    num_rel = rel_dst_type.numel()
    gen = torch.Generator().manual_seed(seed)
    n_id = seeds.clone()
    srcs, dsts, eids = [], [], []
    nodes_per_hop, edges_per_hop = [seeds.numel()], []
    fs, fe = 0, seeds.numel()
    for h in range(len(fanouts) // num_rel):
        v = n_id[fs:fe]
        vtype = torch.searchsorted(node_ptr, v, right=True) - 1
        # virtual rows (frontier node, relation into its type), ordered by node then relation
        node_of, rel = (vtype.unsqueeze(1) == rel_dst_type.unsqueeze(0)).nonzero().unbind(1)
        rows = rel_row_off[rel] + v[node_of] - node_ptr[vtype[node_of]]
        k = torch.tensor(fanouts[h * num_rel:(h + 1) * num_rel], dtype=torch.long)[rel]
        begin, deg = rowptr[rows], rowptr[rows + 1] - rowptr[rows]
        owner, pos = _draw(begin, deg, k, replace, gen)
        local_src, n_id = _relabel(n_id, col[pos])
        srcs.append(local_src)
        dsts.append(fs + node_of[owner])
        eids.append(perm[pos])
        nodes_per_hop.append(n_id.numel() - fe)
        edges_per_hop.append(pos.numel())
        fs, fe = fe, n_id.numel()
    empty = torch.empty(0, dtype=torch.long)
    n_ids, edge_index, e_id = group_typed(n_id, torch.cat(srcs) if srcs else empty, torch.cat(dsts) if dsts else empty,
                                          torch.cat(eids) if eids else empty, node_ptr, edge_ptr)
    return (n_ids, edge_index, e_id, torch.tensor(nodes_per_hop, dtype=torch.long),
            torch.tensor(edges_per_hop, dtype=torch.long))


def group_typed(n_id: Tensor, src: Tensor, dst: Tensor, e_id: Tensor, node_ptr: Tensor, edge_ptr: Tensor
                ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
    """A homogeneous sample (global ``n_id``; ``src``/``dst`` local ids, ``e_id`` global edge ids) split by node
    type and relation: ``(n_id[t], edge_index[r], e_id[r])`` with ids within the type / relation and endpoints as
    positions within their types; every group keeps the sample's order. Stable sorts, so it is the plain-torch
    statement of what ``sample_neighbors_typed`` returns."""
    num_types, num_rel = node_ptr.numel() - 1, edge_ptr.numel() - 1
    ntype = torch.searchsorted(node_ptr, n_id, right=True) - 1
    order = torch.sort(ntype, stable=True).indices
    per_type = torch.bincount(ntype, minlength=num_types)
    start = torch.cumsum(per_type, 0) - per_type
    pos = torch.empty_like(n_id)
    pos[order] = torch.arange(n_id.numel()) - start[ntype[order]]
    n_ids = list((n_id[order] - node_ptr[ntype[order]]).split(per_type.tolist()))
    rel = torch.searchsorted(edge_ptr, e_id, right=True) - 1
    eorder = torch.sort(rel, stable=True).indices
    per_rel = torch.bincount(rel, minlength=num_rel).tolist()
    ei = torch.stack([pos[src[eorder]], pos[dst[eorder]]])
    edge_index = [part.contiguous() for part in ei.split(per_rel, dim=1)]
    e_ids = list((e_id[eorder] - edge_ptr[rel[eorder]]).split(per_rel))
    return n_ids, edge_index, e_ids


def gather_rows(src: Tensor, index: Tensor, out: Tensor) -> Tensor:
    """``out[i] = src[index[i]]`` (twin of kernels/cpu/gather_rows.cpp; checks done by the caller)."""
    return torch.index_select(src, 0, index, out=out)


# ---- the seed papers' samplers (twins of kernels/cpu/random_walk.cpp and subgraph.cpp: same contract and
# distribution, not the same draws; induced_subgraph is deterministic and gives the same output). They are also
# the reference constructions the kernels are tested against. The CSR is trusted here (the callers check it).
def _rows_of(rowptr: Tensor, pos: Tensor) -> Tensor:
    """The row holding each CSR position."""
    return torch.searchsorted(rowptr, pos, right=True) - 1


def random_walk(rowptr: Tensor, col: Tensor, start: Tensor, walk_length: int, p: float, q: float,
                seed: int) -> Tuple[Tensor, Tensor]:
    """All walks advance one step at a time; node2vec's rejection runs until every walk accepted its proposal.
    "x is a neighbour of prev" is a search of the key prev * N + x in the (row-sorted) CSR's keys."""
    if walk_length < 0 or not (p > 0 and q > 0):
        raise ValueError(f"random_walk: walk_length must be >= 0 and p, q > 0, got {walk_length}, {p}, {q}")
    gen = torch.Generator().manual_seed(seed)
    n = rowptr.numel() - 1
    keys = _rows_of(rowptr, torch.arange(col.numel())) * n + col
    max_w = max(1.0 / p, 1.0, 1.0 / q)
    accept = torch.tensor([1.0 / p / max_w, 1.0 / max_w, 1.0 / q / max_w], dtype=torch.float64)
    cur = start.clone()
    prev = torch.full_like(cur, -1)
    nodes, steps = [cur], []
    for _ in range(walk_length):
        b, deg = rowptr[cur], rowptr[cur + 1] - rowptr[cur]
        k = torch.full_like(cur, -1)
        todo = (deg > 0).nonzero().view(-1)
        while todo.numel():
            prop = b[todo] + (torch.rand(todo.numel(), generator=gen, dtype=torch.float64) * deg[todo]).long()
            ok = torch.ones(todo.numel(), dtype=torch.bool)
            biased = (prev[todo] >= 0) & torch.tensor(p != 1.0 or q != 1.0)
            if bool(biased.any()):
                x, pv = col[prop], prev[todo]
                key = (pv * n + x).clamp(min=0)
                at = torch.searchsorted(keys, key).clamp(max=max(keys.numel() - 1, 0))
                near = keys.numel() > 0 and (keys[at] == key)
                kind = torch.where(x == pv, 0, torch.where(near, 1, 2))
                r = torch.rand(todo.numel(), generator=gen, dtype=torch.float64)
                ok = ~biased | (r < accept[kind])
            k[todo[ok]] = prop[ok]
            todo = todo[~ok]
        nxt = torch.where(k >= 0, col[k.clamp(min=0)] if col.numel() else cur, cur)
        prev = torch.where(k >= 0, cur, prev)
        cur = nxt
        nodes.append(cur)
        steps.append(k)
    node_seq = torch.stack(nodes, 1)
    pos_seq = torch.stack(steps, 1) if steps else torch.empty(start.numel(), 0, dtype=torch.long)
    return node_seq, pos_seq


def induced_subgraph(rowptr: Tensor, col: Tensor, perm: Tensor, nodes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    n = rowptr.numel() - 1
    if nodes.numel() != torch.unique(nodes).numel():
        raise ValueError("induced_subgraph: nodes must be unique; got repeated node ids")
    local = torch.full((n,), -1, dtype=torch.long)
    local[nodes] = torch.arange(nodes.numel())
    deg = rowptr[nodes + 1] - rowptr[nodes]
    owner = torch.repeat_interleave(torch.arange(nodes.numel()), deg)
    first = torch.zeros(nodes.numel() + 1, dtype=torch.long)
    torch.cumsum(deg, 0, out=first[1:])
    pos = rowptr[nodes][owner] + torch.arange(owner.numel()) - first[owner]
    src = local[col[pos]]
    keep = src >= 0
    rowptr_sub = torch.zeros(nodes.numel() + 1, dtype=torch.long)
    torch.cumsum(torch.bincount(owner[keep], minlength=nodes.numel()), 0, out=rowptr_sub[1:])
    return rowptr_sub, src[keep], perm[pos[keep]]


def saint_sample(rowptr: Tensor, col: Tensor, edge_cdf: Optional[Tensor], kind: str, batch_size: int,
                 walk_length: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    n, e = rowptr.numel() - 1, col.numel()
    if kind == "node":
        out = col[torch.randint(e, (batch_size,), generator=gen)]
    elif kind == "edge":
        u = torch.rand(batch_size, generator=gen, dtype=torch.float64) * edge_cdf[-1]
        k = torch.searchsorted(edge_cdf, u, right=True).clamp(max=e - 1)
        out = torch.cat([col[k], _rows_of(rowptr, k)])
    elif kind == "rw":
        roots = torch.randint(n, (batch_size,), generator=gen)
        out = random_walk(rowptr, col, roots, walk_length, 1.0, 1.0, seed)[0].reshape(-1)
    else:
        raise ValueError(f"saint_sample: kind must be 'node', 'edge' or 'rw', got {kind!r}")
    return torch.unique(out)


def shadow_k_hop(rowptr: Tensor, col: Tensor, perm: Tensor, roots: Tensor, depth: int, num_neighbors: int,
                 replace: bool, seed: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One root at a time: ``depth`` hops of at most ``num_neighbors`` incoming neighbours (root first, then
    discovery order), and the sub-graph induced on them (``induced_subgraph``)."""
    gen = torch.Generator().manual_seed(seed)
    n_ids, srcs, dsts, eids, node_ptr, edge_ptr = [], [], [], [], [0], [0]
    for root in roots.tolist():
        order, seen, frontier = [root], {root}, [root]
        for _ in range(depth):
            nxt = []
            for v in frontier:
                b, d = int(rowptr[v]), int(rowptr[v + 1] - rowptr[v])
                if d == 0:
                    continue
                if num_neighbors < 0 or (not replace and num_neighbors >= d):
                    picks = torch.arange(d)
                elif replace:
                    picks = torch.randint(d, (num_neighbors,), generator=gen)
                else:
                    picks = torch.randperm(d, generator=gen)[:num_neighbors]
                for u in col[b + picks].tolist():
                    if u not in seen:
                        seen.add(u)
                        order.append(u)
                        nxt.append(u)
            frontier = nxt
        nodes = torch.tensor(order, dtype=torch.long)
        sub_ptr, sub_col, sub_eid = induced_subgraph(rowptr, col, perm, nodes)
        n_ids.append(nodes)
        srcs.append(sub_col)
        dsts.append(torch.repeat_interleave(torch.arange(nodes.numel()), sub_ptr[1:] - sub_ptr[:-1]))
        eids.append(sub_eid)
        node_ptr.append(node_ptr[-1] + nodes.numel())
        edge_ptr.append(edge_ptr[-1] + sub_eid.numel())
    empty = torch.empty(0, dtype=torch.long)
    cat = lambda parts: torch.cat(parts) if parts else empty  # noqa: E731
    return (torch.tensor(node_ptr), cat(n_ids), torch.tensor(edge_ptr), torch.stack([cat(srcs), cat(dsts)]),
            cat(eids))
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
