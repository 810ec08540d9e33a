r"""UltraGCN (Mao et al., 2021): the limit of infinitely many graph convolutions, as a constraint loss."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.models.pair_scores import pair_scores

__all__ = ["UltraGCN", "ultragcn_betas", "item_item_constraints"]


def _check(users: Tensor, items: Tensor, num_users: int, num_items: int) -> Tuple[Tensor, Tensor]:
    if users.shape != items.shape or users.dim() != 1:
        raise ValueError(f"users {list(users.shape)} and items {list(items.shape)} must be equal-length 1-d tensors")
    for name, ids, bound in (("users", users, num_users), ("items", items, num_items)):
        if ids.is_floating_point():
            raise TypeError(f"{name} must hold integer ids, got dtype {ids.dtype}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= bound):
            raise ValueError(f"{name} ids must lie in [0, {bound}), got [{int(ids.min())}, {int(ids.max())}]")
    return users.long(), items.long()


def ultragcn_betas(users: Tensor, items: Tensor, num_users: int, num_items: int) -> Tuple[Tensor, Tensor]:
    r"""The per-node factors of UltraGCN's constraint weight
    :math:`\beta_{u,i} = \frac{1}{d_u}\sqrt{\frac{d_u + 1}{d_i + 1}} = b_u c_i` with
    :math:`b_u = \sqrt{d_u + 1} / d_u` and :math:`c_i = 1 / \sqrt{d_i + 1}` (degrees in the training
    interactions; a user without one gets :math:`b_u = 0`).

    >>> b, c = ultragcn_betas(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 2, 2)
    >>> [round(v, 4) for v in b.tolist()], [round(v, 4) for v in c.tolist()]
    ([0.866, 1.4142], [0.7071, 0.5774])
    """
    users, items = _check(users, items, num_users, num_items)
    du = torch.bincount(users, minlength=num_users).double()
    di = torch.bincount(items, minlength=num_items).double()
    b = torch.where(du > 0, (du + 1).sqrt() / du.clamp(min=1), torch.zeros_like(du))
    return b, (di + 1).rsqrt()


def item_item_constraints(users: Tensor, items: Tensor, num_users: int, num_items: int,
                          k: int) -> Tuple[Tensor, Tensor]:
    r"""UltraGCN's item-item constraint graph: each item's ``k`` strongest co-occurrence neighbours.

    With the co-occurrence matrix :math:`G = A^\top A` (:math:`A` the user-item matrix, each interaction counted
    once) and :math:`g_i = \sum_k G_{ik}`, the weight of :math:`j` for :math:`i` is

    .. math:: \omega_{ij} = \frac{G_{ij}}{g_i - G_{ii}} \sqrt{\frac{g_i}{g_j}}

    (the paper's Eq. 13, the item-item analogue of :func:`ultragcn_betas`; :math:`\omega_{ij} = 0` where the item
    co-occurs with nothing else). The item itself is excluded; ties go to the lower id.
    Returns ``(neighbours [I, k] long, weights [I, k])``; rows with fewer than ``k`` co-occurring items are
    padded with weight 0.

    >>> nbr, w = item_item_constraints(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 2]), 2, 3, 1)
    >>> nbr.view(-1).tolist(), [round(v, 4) for v in w.view(-1).tolist()]
    ([1, 0, 1], [0.7071, 0.7071, 0.7071])
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k >= num_items:
        raise ValueError(f"k must be an int in [1, {num_items}), got {k!r}")
    users, items = _check(users, items, num_users, num_items)
    a = torch.zeros(num_users, num_items, dtype=torch.float64)
    a[users, items] = 1.0  # each interaction once
    g = a.t() @ a  # [I, I] co-occurrence: items are few enough for dense matrices
    total = g.sum(1)
    off = total - g.diagonal()
    scale = torch.where(off > 0, total.sqrt() / off.clamp(min=1e-300), torch.zeros_like(off))
    omega = g * scale[:, None] * torch.where(total > 0, total.rsqrt(), torch.zeros_like(total))[None, :]
    omega.fill_diagonal_(-1.0)  # never the item itself
    # stable descending sort: equal weights keep the lower id first
    order = torch.sort(omega, dim=1, descending=True, stable=True)
    w, nbr = order.values[:, :k].clamp(min=0), order.indices[:, :k]
    return nbr, w


class UltraGCN(torch.nn.Module):
    r"""User and item embeddings trained with UltraGCN's loss (no message passing at all):

    .. math::
        L = L_O + \lambda L_I + \frac{\gamma}{2} \lVert \Theta \rVert^2,\quad
        L_O = -\sum_{(u,i)} w^{+}_{ui} \ln\sigma(\mathbf{e}_u^\top \mathbf{e}_i)
        - \frac{\nu}{N} \sum_{(u,j)} w^{-}_{uj} \ln\sigma(-\mathbf{e}_u^\top \mathbf{e}_j),\quad
        L_I = -\sum_{(u,i)} \sum_{j \in S(i)} \omega_{ij} \ln\sigma(\mathbf{e}_u^\top \mathbf{e}_j)

    with :math:`w^{+}_{ui} = w_1 + w_2 \beta_{u,i}` and :math:`w^{-}_{uj} = w_3 + w_4 \beta_{u,j}`: the
    :math:`\beta` terms (:func:`ultragcn_betas`) are the constraint that makes :math:`\mathbf{e}_u` the fixed
    point of infinitely many (normalised, self-looped) graph convolutions; :math:`S(i)` are the ``num_neighbours``
    item-item neighbours of :func:`item_item_constraints`; :math:`N` negatives per positive, weighted by
    :math:`\nu` (``negative_weight``). Defaults are the paper's MovieLens-1M setting. A pair's score is
    :math:`\mathbf{e}_u^\top \mathbf{e}_i`; a step's :math:`B (1 + N + K)` scores come from one
    :func:`~graphkit.nn.models.pair_scores.pair_scores` call (one sort, an SDDMM forward, two SpMMs backward, no
    per-pair gradient rows scattered into the tables).

    Shapes:
        users ``(B,)``, pos_items ``(B,)``, neg_items ``(B, N)`` -> scalar loss; :meth:`scores` -> ``(U, I)``.

    >>> _ = torch.manual_seed(0)
    >>> m = UltraGCN(2, 3, 4, torch.tensor([0, 0, 1]), torch.tensor([0, 1, 2]), num_neighbours=1)
    >>> m(torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([[2], [0]])).shape, m.scores().shape
    (torch.Size([]), torch.Size([2, 3]))
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int, users: Tensor, items: Tensor,
                 num_neighbours: int = 10, w1: float = 1e-7, w2: float = 1.0, w3: float = 1e-7, w4: float = 1.0,
                 negative_weight: float = 200.0, gamma: float = 1e-4, lambda_: float = 1e-3,
                 init_std: float = 1e-4) -> None:
        super().__init__()
        self.num_users, self.num_items, self.embedding_dim = num_users, num_items, embedding_dim
        self.w1, self.w2, self.w3, self.w4 = w1, w2, w3, w4
        self.negative_weight, self.gamma, self.lambda_, self.init_std = negative_weight, gamma, lambda_, init_std
        self.user_emb = torch.nn.Embedding(num_users, embedding_dim)
        self.item_emb = torch.nn.Embedding(num_items, embedding_dim)
        b, c = ultragcn_betas(users, items, num_users, num_items)
        nbr, w = item_item_constraints(users, items, num_users, num_items, num_neighbours)
        self.register_buffer("beta_user", b.float())
        self.register_buffer("beta_item", c.float())
        self.register_buffer("ii_neighbours", nbr)
        self.register_buffer("ii_weights", w.float())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.normal_(self.user_emb.weight, std=self.init_std)
        torch.nn.init.normal_(self.item_emb.weight, std=self.init_std)

    def forward(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        if neg_items.dim() != 2 or neg_items.size(0) != users.numel() or pos_items.shape != users.shape or \
                users.dim() != 1 or neg_items.size(1) == 0:
            raise ValueError(f"users {list(users.shape)}, pos_items {list(pos_items.shape)} and neg_items "
                             f"{list(neg_items.shape)} must be (B,), (B,), (B, N >= 1)")
        users, pos_items, neg_items = users.long(), pos_items.long(), neg_items.long()
        n, k = neg_items.size(1), self.ii_neighbours.size(1)
        # every score of the step in one [B, 1 + N + K] block: the positive, the negatives, the item neighbours
        items = torch.cat([pos_items.unsqueeze(1), neg_items, self.ii_neighbours[pos_items]], 1)
        s = pair_scores(self.user_emb.weight, self.item_emb.weight, users.unsqueeze(1).expand_as(items), items)
        bu = self.beta_user[users]
        w_pos = self.w1 + self.w2 * bu * self.beta_item[pos_items]
        w_neg = self.w3 + self.w4 * bu.unsqueeze(1) * self.beta_item[neg_items]
        weight = torch.cat([w_pos.unsqueeze(1), (self.negative_weight / n) * w_neg,
                            self.lambda_ * self.ii_weights[pos_items]], 1)
        # -ln sigma(s) for the positive and the neighbours, -ln sigma(-s) = -ln(1 - sigma(s)) for the negatives
        sign = s.new_ones(1 + n + k)
        sign[1:1 + n] = -1
        loss = -(weight * F.logsigmoid(s * sign)).sum()
        norm = sum(p.pow(2).sum() for p in self.parameters()) / 2
        return loss + self.gamma * norm

    @torch.no_grad()
    def scores(self) -> Tensor:
        """``(U, I)`` scores :math:`\\mathbf{e}_u^\\top \\mathbf{e}_i` of every pair."""
        return self.user_emb.weight @ self.item_emb.weight.t()

    def __repr__(self) -> str:
        return (f"UltraGCN({self.num_users} users, {self.num_items} items, dim={self.embedding_dim}, "
                f"neighbours={self.ii_neighbours.size(1)})")
