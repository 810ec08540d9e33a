r"""Skip-gram negative-sampling loss over walk windows, fused: the loss Node2Vec (and any walk-embedding model)
trains with, computed once per walk rather than once per window.

A window ``(v, c_1, ..., c_{C-1})`` scores its start against the rest; positive windows come from walks,
negative ones from sequences of random nodes:

.. math:: L = -\frac{1}{|P|}\sum_{(v,c)\in P} \log\bigl(\sigma(\mathbf{z}_v^\top\mathbf{z}_c) + \epsilon\bigr)
          - \frac{1}{|N|}\sum_{(v,c)\in N} \log\bigl(1-\sigma(\mathbf{z}_v^\top\mathbf{z}_c) + \epsilon\bigr)

with PyG's :math:`\epsilon = 10^{-15}` (kept, so the value and gradient are PyG's).

Why fused: the ``r = L - C + 1`` windows of one walk of ``L`` nodes overlap, so the plain formulation gathers
``r * C`` embedding rows per walk (``11 * 10`` at walk length 20, context 10), and its backward zero-fills and
scatters as many. Here the windows are folded back into their walks (a cheap integer check, window-major layout as
PyG's ``pos_sample``), each walk's ``L`` rows are gathered once, the scores of all its windows are one batched
product ``Z[:, :r] Z^T`` (``[B, r, L]``) read on the band ``(t, t + k)``, and the backward is the same two products
written by hand. The gradient comes back on the distinct rows only, as a coalesced sparse tensor (``sparse=True``)
that ``torch.optim.SparseAdam`` updates without sorting again.

Shapes:
    ``pos_rw``: ``(W_p, C)``, ``neg_rw``: ``(W_n, C')`` node ids; ``weight``: ``(N, D)``; result: a scalar.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["skipgram_loss", "windows_to_walks"]

EPS = 1e-15  # PyG's: keeps log() finite when a score saturates


def windows_to_walks(rw: Tensor, walk_length: Optional[int] = None) -> Tensor:
    """The walks ``[B, L]`` whose windows are the rows of ``rw`` (``[r * B, C]``, ``r = L - C + 1`` windows per
    walk), in PyG's window-major layout (window ``t`` of walk ``b`` at row ``t * B + b``) or walk-major (at row
    ``b * r + t``, DGL's example); ``rw`` itself (each window its own walk) when ``walk_length`` is ``None`` or the
    rows are neither."""
    w, c = rw.shape
    r = 0 if walk_length is None else walk_length - c + 1
    if r <= 1 or w % r:
        return rw
    v = rw.reshape(r, w // r, c)
    if torch.equal(v[1:, :, :-1], v[:-1, :, 1:]):
        return torch.cat([v[0], v[1:, :, -1].t()], 1)
    v = rw.reshape(w // r, r, c)
    if torch.equal(v[:, 1:, :-1], v[:, :-1, 1:]):
        return torch.cat([v[:, 0], v[:, 1:, -1]], 1)
    return rw


class _SkipGramLoss(torch.autograd.Function):
    """Forward and hand-written backward over walks; see the module docstring for the layout."""

    @staticmethod
    def forward(ctx, weight: Tensor, walks: Tensor, num_pos: int, context_size: int,  # type: ignore[override]
                sparse: bool) -> Tensor:
        b, length = walks.shape
        r = length - context_size + 1
        z = weight.index_select(0, walks.reshape(-1)).view(b, length, -1)
        gram = torch.bmm(z[:, :r], z.transpose(1, 2)).view(b, r * length)  # [B, r, L]: z_t . z_j
        band = _band(r, context_size, length, walks.device)
        s = torch.sigmoid(gram[:, band])  # [B, r * (C - 1)]: window t against its k-th context node
        sp, sn = s[:num_pos], s[num_pos:]
        loss = s.new_zeros(())
        if sp.numel():
            loss = loss - torch.log(sp + EPS).mean()
        if sn.numel():
            loss = loss - torch.log(1 - sn + EPS).mean()
        ctx.save_for_backward(walks, z, s, band)
        ctx.meta = (num_pos, r, sparse, weight.shape)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor) -> Tuple[Optional[Tensor], None, None, None, None]:  # type: ignore[override]
        walks, z, s, band = ctx.saved_tensors
        num_pos, r, sparse, shape = ctx.meta
        b, length, d = z.shape
        sp, sn = s[:num_pos], s[num_pos:]
        # d/dx of -log(sigmoid(x) + eps) and of -log(1 - sigmoid(x) + eps), times the mean's 1/|P| and 1/|N|
        # (an empty part's factor is never used: max() only keeps the division defined)
        gx = torch.cat([(-grad_out / max(sp.numel(), 1)) / (sp + EPS) * (1 - sp) * sp,
                        (grad_out / max(sn.numel(), 1)) / (1 - sn + EPS) * (1 - sn) * sn])
        dgram = z.new_zeros(b, r * length)
        dgram[:, band] = gx
        dgram = dgram.view(b, r, length)
        dz = torch.bmm(dgram.transpose(1, 2), z[:, :r])  # d/dz_j of sum_t g_tj z_t . z_j
        dz[:, :r] += torch.bmm(dgram, z)  # d/dz_t
        ids = walks.reshape(-1)
        if not sparse:
            return z.new_zeros(shape).index_add_(0, ids, dz.view(-1, d)), None, None, None, None
        uniq, inv = torch.unique(ids, return_inverse=True)
        rows = z.new_zeros(uniq.numel(), d).index_add_(0, inv, dz.view(-1, d))
        grad = torch.sparse_coo_tensor(uniq.view(1, -1), rows, shape, is_coalesced=True,
                                       check_invariants=False)
        return grad, None, None, None, None


def _band(r: int, context_size: int, length: int, device: torch.device) -> Tensor:
    """Flat indices ``t * L + t + k`` (``t < r``, ``1 <= k < C``) of the window scores inside ``[r, L]``."""
    t = torch.arange(r, device=device).view(-1, 1)
    k = torch.arange(1, context_size, device=device).view(1, -1)
    return (t * (length + 1) + k).view(-1)


def skipgram_loss(weight: Tensor, pos_rw: Tensor, neg_rw: Tensor, walk_length: Optional[int] = None,
                  sparse: bool = False) -> Tensor:
    """The skip-gram negative-sampling loss of windows ``pos_rw`` against ``neg_rw`` (module docstring).

    Args:
        weight: the embedding table ``[N, D]``.
        pos_rw, neg_rw: windows ``[W, C]`` of node ids (``C >= 2``; the two may differ in ``C``).
        walk_length: nodes per walk the windows were cut from, when they are window-major windows of walks (the
            fast case; checked, and any other rows are scored window by window, with the same result).
        sparse: return the gradient of ``weight`` as a coalesced sparse tensor over the rows used.
    """
    for name, rw in (("pos_rw", pos_rw), ("neg_rw", neg_rw)):
        if not isinstance(rw, Tensor) or rw.dim() != 2 or rw.size(1) < 2 or rw.is_floating_point() or \
                rw.dtype == torch.bool:
            raise ValueError(f"{name} must be a [W, C >= 2] integer tensor of windows, got "
                             f"{getattr(rw, 'dtype', type(rw).__name__)} of shape {list(getattr(rw, 'shape', []))}")
    if pos_rw.size(0) == 0 or neg_rw.size(0) == 0:
        raise ValueError(f"pos_rw and neg_rw need at least one window each, got {pos_rw.size(0)} and "
                         f"{neg_rw.size(0)}")
    walks: List[Tensor] = [windows_to_walks(rw.long(), walk_length) for rw in (pos_rw, neg_rw)]
    if walks[0].size(1) == walks[1].size(1) and pos_rw.size(1) == neg_rw.size(1):  # one batched pass
        return _SkipGramLoss.apply(weight, torch.cat(walks), walks[0].size(0), pos_rw.size(1), sparse)
    # differently shaped walks (e.g. only one part was window-major windows of walks): one pass per part
    pos = _SkipGramLoss.apply(weight, walks[0], walks[0].size(0), pos_rw.size(1), sparse)
    neg = _SkipGramLoss.apply(weight, walks[1], 0, neg_rw.size(1), sparse)
    return pos + neg
