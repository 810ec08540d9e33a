r"""``KMeansCodebook``: node centroids kept by mini-batch k-means with exponential moving averages.

The codebook of GOAT (Kong et al. 2023) and LargeGT's global module (Dwivedi et al. 2023): the EMA form of the
VQ-VAE codebook update (van den Oord et al. 2017). It is state, not parameters: no gradient reaches it; every
training step moves it towards the embeddings it is shown.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphkit.ops._checks import check_positive_int

__all__ = ["KMeansCodebook"]


class KMeansCodebook(nn.Module):
    r"""``C`` centroids of ``D``-dimensional embeddings, updated by one EMA k-means step per batch.

    For a batch :math:`z_1 \dots z_B`, :meth:`update` assigns each row to its nearest centroid and moves the
    running cluster sizes :math:`N_j`, sums :math:`M_j` and centroids :math:`c_j`:

    .. math::
        a_i &= \arg\min_j \lVert z_i - c_j \rVert^2, \qquad n_j = |\{i : a_i = j\}| \\
        N_j &\leftarrow \gamma N_j + (1 - \gamma)\, n_j, \qquad
        M_j \leftarrow \gamma M_j + (1 - \gamma) \sum_{i : a_i = j} z_i \\
        c_j &\leftarrow M_j / N_j \quad (N_j > 0; \text{ a centroid never chosen keeps its place})

    with decay :math:`\gamma`. :math:`N_j` tracks how many nodes centroid :math:`j` stands for (up to one common
    factor), which is what :class:`~graphkit.nn.attention.CodebookAttention` weighs each centroid by.

    Initialisation: the first :meth:`update` first sets every centroid to a row of its batch, drawn uniformly
    with replacement from torch's global generator (so ``torch.manual_seed`` fixes it), then takes the step
    (LargeGT's reference code starts from Gaussian noise instead, far from the embeddings' scale). Arg-min ties
    go to the lower index.

    Args:
        num_centroids: ``C``.
        dim: ``D``.
        decay: :math:`\gamma \in [0, 1)`; ``0`` is one plain k-means step on each batch alone.

    Shapes:
        ``update(z (B, D))`` -> assignments ``(B,)``; buffers ``centroids (C, D)``, ``sizes (C,)``,
        ``sums (C, D)``.

    >>> torch.manual_seed(0) and None
    >>> cb = KMeansCodebook(num_centroids=2, dim=1, decay=0.0)
    >>> cb.update(torch.tensor([[0.0], [0.2], [10.0]])).tolist()
    [1, 1, 0]
    >>> [round(v, 4) for v in cb.centroids.view(-1).tolist()], cb.sizes.tolist()
    ([10.0, 0.1], [1.0, 2.0])
    """

    def __init__(self, num_centroids: int, dim: int, decay: float = 0.99) -> None:
        super().__init__()
        for name, v in (("num_centroids", num_centroids), ("dim", dim)):
            check_positive_int(name, v)
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay!r}")
        self.num_centroids, self.dim, self.decay = num_centroids, dim, float(decay)
        self.register_buffer("centroids", torch.zeros(num_centroids, dim))
        self.register_buffer("sizes", torch.zeros(num_centroids))
        self.register_buffer("sums", torch.zeros(num_centroids, dim))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def reset_parameters(self) -> None:
        """Forget the clusters: the next :meth:`update` seeds the centroids again from its batch."""
        for buf in (self.centroids, self.sizes, self.sums, self.initialised):
            buf.zero_()

    def _check(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.size(1) != self.dim:
            raise ValueError(f"z must have shape [B, {self.dim}], got {list(z.shape)}")
        return z.detach().to(self.centroids.dtype)

    def assign(self, z: Tensor) -> Tensor:
        """Index of the nearest centroid of every row of ``z`` ``[B]`` (squared Euclidean distance)."""
        z = self._check(z)
        # ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2; the first term is the same for every centroid of a row
        dist = self.centroids.pow(2).sum(1) - 2.0 * z @ self.centroids.t()
        return dist.argmin(1)

    @torch.no_grad()
    def update(self, z: Tensor) -> Tensor:
        """One EMA k-means step on the batch ``z`` ``[B, D]``; returns its assignments ``[B]``."""
        z = self._check(z)
        if z.size(0) == 0:
            return torch.empty(0, dtype=torch.long, device=z.device)
        if not bool(self.initialised):
            pick = torch.randint(z.size(0), (self.num_centroids,)).to(z.device)
            self.centroids.copy_(z[pick])
            self.initialised.fill_(True)
        a = self.assign(z)
        counts = torch.zeros_like(self.sizes).index_add_(0, a, torch.ones_like(a, dtype=self.sizes.dtype))
        sums = torch.zeros_like(self.sums).index_add_(0, a, z)
        g = self.decay
        self.sizes.mul_(g).add_(counts, alpha=1.0 - g)
        self.sums.mul_(g).add_(sums, alpha=1.0 - g)
        alive = self.sizes > 0
        self.centroids[alive] = self.sums[alive] / self.sizes[alive, None]
        return a

    def extra_repr(self) -> str:
        return f"num_centroids={self.num_centroids}, dim={self.dim}, decay={self.decay}"
