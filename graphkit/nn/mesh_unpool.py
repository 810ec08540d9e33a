r"""MeshUnpool (Hanocka et al., "MeshCNN: A Network with an Edge"): undo a MeshPool, scattering features back."""
from __future__ import annotations

import torch
from torch import Tensor

from graphkit.nn.mesh_pool import MeshPoolHistory

__all__ = ["MeshUnpool"]


class MeshUnpool(torch.nn.Module):
    r"""MeshCNN's unpooling: every input edge of a :class:`graphkit.nn.MeshPool` gets back the mean of the
    pooled edges whose groups hold it,

    .. math::
        \mathbf{x}_e = \frac{1}{|\{g : e \in G_g\}|} \sum_{g \,:\, e \in G_g} \mathbf{x}'_g

    (MeshCNN's ``unroll_mat`` divided by the occurrences), so the edge count, the neighbour index
    (``history.nbr``), ``history.edge_vertices`` and ``history.batch`` are those before pooling.

    Shapes:
        x ``(E', F)``, history of a pool from ``E`` edges -> ``(E, F)``.

    >>> from graphkit.nn.mesh_pool import MeshPoolHistory
    >>> h = MeshPoolHistory(torch.tensor([[0, 0, 1, 1], [0, 1, 1, 2]]), torch.zeros(3, 4, dtype=torch.long),
    ...                     torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    >>> MeshUnpool()(torch.tensor([[2.], [4.]]), h).view(-1).tolist()  # edge 1 sat in both groups
    [2.0, 3.0, 4.0]
    """

    def forward(self, x: Tensor, history: MeshPoolHistory) -> Tensor:
        groups = history.groups
        if x.dim() != 2 or (groups.numel() and int(groups[0].max()) >= x.size(0)):
            raise ValueError(f"x must be [E', F] with a row per pooled edge of the history, got {list(x.shape)}")
        n = history.num_in
        ones = torch.ones(groups.size(1), dtype=x.dtype, device=x.device)
        occurrences = torch.zeros(n, dtype=x.dtype, device=x.device).index_add_(0, groups[1], ones)
        out = x.new_zeros(n, x.size(1)).index_add_(0, groups[1], x[groups[0]])
        return out / occurrences.clamp(min=1).unsqueeze(1)
