r"""``dense_diff_pool`` (Ying et al., "Hierarchical Graph Representation Learning with Differentiable Pooling")."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ["dense_diff_pool", "dense_pool_inputs"]


def dense_pool_inputs(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor,
                                                                                            Optional[Tensor]]:
    """Add the batch dimension to unbatched ``[N, *]`` inputs and check the shapes the dense pools share."""
    x, adj, s = (t.unsqueeze(0) if t.dim() == 2 else t for t in (x, adj, s))
    if x.dim() != 3 or adj.dim() != 3 or s.dim() != 3:
        raise ValueError(f"x, adj and s must be [B, N, *] (or [N, *]), got {list(x.shape)}, {list(adj.shape)}, "
                         f"{list(s.shape)}")
    b, n, _ = x.shape
    if adj.shape[:2] != (b, n) or adj.size(2) != n or s.shape[:2] != (b, n):
        raise ValueError(f"adj must be [{b}, {n}, {n}] and s [{b}, {n}, C], got {list(adj.shape)} and "
                         f"{list(s.shape)}")
    if mask is not None and mask.numel() != b * n:
        raise ValueError(f"mask must be [{b}, {n}], got {list(mask.shape)}")
    return x, adj, s, (mask.view(b, n, 1).to(x.dtype) if mask is not None else None)


def dense_diff_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, normalize: bool = True
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Pool a dense batch with a learned soft assignment :math:`\mathbf{S} = \mathrm{softmax}(\mathbf{s})` (row
    softmax over the :math:`C` clusters):

    .. math::
        \mathbf{X}' = \mathbf{S}^\top \mathbf{X},\quad \mathbf{A}' = \mathbf{S}^\top \mathbf{A} \mathbf{S},\quad
        \mathcal{L}_{LP} = \lVert \mathbf{A} - \mathbf{S}\mathbf{S}^\top \rVert_F,\quad
        \mathcal{L}_E = \frac{1}{BN} \sum_{b, n} H(\mathbf{S}_{bn})

    ``mask`` (``[B, N]``, from :func:`graphkit.utils.to_dense_batch`) zeroes padding rows of :math:`\mathbf{X}`
    and :math:`\mathbf{S}`; ``normalize`` divides :math:`\mathcal{L}_{LP}` by :math:`|\mathbf{A}|`. Returns
    ``(x, adj, link_loss, ent_loss)`` as PyG's ``dense_diff_pool``.

    Shapes:
        x ``(B, N, F)``, adj ``(B, N, N)``, s ``(B, N, C)``, mask ``(B, N)`` -> ``(B, C, F)``, ``(B, C, C)``, two
        scalars (unbatched ``[N, *]`` inputs count as ``B = 1``).

    >>> x, adj, s = torch.ones(1, 3, 2), torch.ones(1, 3, 3), torch.zeros(1, 3, 2)
    >>> out, out_adj, link, ent = dense_diff_pool(x, adj, s)
    >>> out.tolist(), out_adj.tolist(), round(float(ent), 4)
    ([[[1.5, 1.5], [1.5, 1.5]]], [[[2.25, 2.25], [2.25, 2.25]]], 0.6931)
    """
    x, adj, s, mask = dense_pool_inputs(x, adj, s, mask)
    s = torch.softmax(s, dim=-1)
    if mask is not None:
        x, s = x * mask, s * mask
    st = s.transpose(1, 2)
    out, out_adj = st @ x, (st @ adj) @ s
    link_loss = torch.norm(adj - s @ st, p=2)
    if normalize:
        link_loss = link_loss / adj.numel()
    ent_loss = (-s * torch.log(s + 1e-15)).sum(dim=-1).mean()
    return out, out_adj, link_loss, ent_loss
