r"""``dense_mincut_pool`` (Bianchi et al., "Spectral Clustering with Graph Neural Networks for Graph Pooling")."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphkit.nn.pool.diff_pool import dense_pool_inputs

__all__ = ["dense_mincut_pool"]


def dense_mincut_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None, temp: float = 1.0
                      ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Pool a dense batch with a soft cluster assignment :math:`\mathbf{S} = \mathrm{softmax}(\mathbf{s} / T)`,
    trained by the relaxed normalised-cut and orthogonality losses:

    .. math::
        \mathbf{X}' = \mathbf{S}^\top \mathbf{X},\quad \mathbf{A}' = \mathbf{S}^\top \mathbf{A} \mathbf{S},\quad
        \mathcal{L}_c = -\frac{\mathrm{Tr}(\mathbf{S}^\top \mathbf{A} \mathbf{S})}
                                {\mathrm{Tr}(\mathbf{S}^\top \mathbf{D} \mathbf{S})},\quad
        \mathcal{L}_o = \left\lVert \frac{\mathbf{S}^\top\mathbf{S}}{\lVert\mathbf{S}^\top\mathbf{S}\rVert_F}
                       - \frac{\mathbf{I}_C}{\sqrt{C}} \right\rVert_F

    (both averaged over the batch). The returned :math:`\mathbf{A}'` has a zero diagonal and is normalised
    symmetrically, :math:`\mathbf{D}'^{-1/2}\mathbf{A}'\mathbf{D}'^{-1/2}` (plus :math:`10^{-15}`). ``mask`` zeroes
    padding rows. Returns ``(x, adj, mincut_loss, ortho_loss)`` as PyG's ``dense_mincut_pool``.

    Shapes:
        x ``(B, N, F)``, adj ``(B, N, N)``, s ``(B, N, C)``, mask ``(B, N)`` -> ``(B, C, F)``, ``(B, C, C)``, two
        scalars.

    >>> adj = torch.tensor([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    >>> s = torch.tensor([[9.0, 0.0], [9.0, 0.0], [0.0, 9.0], [0.0, 9.0]])  # two clean clusters
    >>> out, out_adj, cut, ortho = dense_mincut_pool(torch.eye(4), adj, s)
    >>> round(float(cut), 3), round(float(ortho), 3)
    (-1.0, 0.0)
    """
    x, adj, s, mask = dense_pool_inputs(x, adj, s, mask)
    k = s.size(-1)
    s = torch.softmax(s / temp if temp != 1.0 else s, dim=-1)
    if mask is not None:
        x, s = x * mask, s * mask
    st = s.transpose(1, 2)
    out, out_adj = st @ x, (st @ adj) @ s
    # Tr(S^T D S) = sum_n d_n |S_n|^2: no dense N x N degree matrix needed.
    volume = (adj.sum(dim=-1) * (s * s).sum(dim=-1)).sum(dim=-1)
    mincut_loss = (-torch.diagonal(out_adj, dim1=-2, dim2=-1).sum(-1) / volume).mean()
    ss = st @ s
    eye = torch.eye(k, dtype=ss.dtype, device=ss.device)
    ortho_loss = torch.norm(ss / torch.norm(ss, dim=(-1, -2), keepdim=True) - eye / torch.norm(eye),
                            dim=(-1, -2)).mean()
    out_adj = out_adj * (1 - eye)  # no self-loops in the pooled graph
    d = torch.sqrt(out_adj.sum(dim=-1))[:, None] + 1e-15
    return out, out_adj / d / d.transpose(1, 2), mincut_loss, ortho_loss
