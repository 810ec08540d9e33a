r"""Recommendation data as a user-item bipartite graph: construction, splits, negative sampling and metrics.

Node ids: users are ``0 .. U-1``, items ``U .. U+I-1``. Every interaction ``(u, i)`` gives the edges
``u -> U+i`` and ``U+i -> u``. LightGCN's propagation matrix is the symmetrically normalised adjacency

.. math:: \tilde A = D^{-1/2} A D^{-1/2},\qquad \tilde A_{u,i} = 1 / \sqrt{d_u d_i},

stored as ``edge_weight`` so that ``spmm(g, x, g.edge_weight)`` is one LightGCN propagation step.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.ops._checks import check_positive_int

__all__ = [
    "interactions_to_graph",
    "split_interactions",
    "sample_negatives",
    "NegativeSampler",
    "top_k_items",
    "recall_at_k",
    "ndcg_at_k",
]


def _ids(name: str, value: Tensor, bound: int, bound_name: str) -> Tensor:
    value = torch.as_tensor(value)
    if value.is_floating_point() or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids, got dtype {value.dtype}")
    value = value.long().reshape(-1)
    if value.numel():
        lo, hi = int(value.min()), int(value.max())
        if lo < 0:
            raise ValueError(f"{name} has negative id {lo}")
        if hi >= bound:
            raise ValueError(f"{name} has id {hi} but {bound_name} is {bound}")
    return value


def _check_pairs(users: Tensor, items: Tensor, num_users: int, num_items: int) -> tuple:
    for name, n in (("num_users", num_users), ("num_items", num_items)):
        check_positive_int(name, n)
    users = _ids("users", users, num_users, "num_users")
    items = _ids("items", items, num_items, "num_items")
    if users.numel() != items.numel():
        raise ValueError(f"users has {users.numel()} entries but items has {items.numel()}")
    return users, items


def interactions_to_graph(
    users: Tensor, items: Tensor, num_users: int, num_items: int, normalize: bool = True, dedupe: bool = True
) -> Graph:
    r"""The user-item bipartite graph of ``(users[k], items[k])`` interactions, in both directions.

    With ``normalize`` the edge weights are LightGCN's :math:`1/\sqrt{d_u d_i}` (degrees counted after
    de-duplication); ``dedupe`` merges repeated interactions into one edge.

    Shapes:
        - users, items: ``(M,)`` integer ids in ``[0, num_users)`` / ``[0, num_items)``
        - output: ``num_nodes = U + I``; ``edge_index``: ``(2, 2 M')``; ``edge_weight``: ``(2 M',)``

    >>> g = interactions_to_graph(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 2, 2)
    >>> g.edge_index.tolist()
    [[0, 0, 1, 2, 3, 3], [2, 3, 3, 0, 0, 1]]
    >>> [round(w, 4) for w in g.edge_weight.tolist()]
    [0.7071, 0.5, 0.7071, 0.7071, 0.5, 0.7071]
    """
    users, items = _check_pairs(users, items, num_users, num_items)
    if dedupe:
        keys = torch.unique(users * num_items + items)  # sorted by (user, item)
        users, items = keys // num_items, keys % num_items
    forward = torch.stack([users, items + num_users])
    edge_index = torch.cat([forward, forward.flip(0)], dim=1)
    graph = Graph(edge_index=edge_index, num_nodes=num_users + num_items, num_users=num_users, num_items=num_items)
    if normalize:
        deg = torch.bincount(edge_index[1], minlength=num_users + num_items).to(torch.get_default_dtype())
        inv = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
        graph.set("edge_weight", inv[edge_index[0]] * inv[edge_index[1]])
    return graph


def split_interactions(
    users: Tensor,
    timestamps: Optional[Tensor] = None,
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    per_user: bool = True,
    seed: int = 0,
) -> Dict[str, Tensor]:
    """Split interaction positions into train/valid/test.

    * ``timestamps`` given: a **time-based** split (earliest ``frac[0]`` to train, the latest to test), within
      each user's history (``per_user=True``, every user keeps some training history) or globally.
    * ``timestamps=None``: a **random** split, per user or global. Ties in time are broken randomly (seeded).

    Per user, each split gets ``round(frac * n_u)`` interactions and train the remainder, so a user with one
    interaction has it in train.
    """
    if len(frac) != 3 or abs(sum(frac) - 1) > 1e-6 or min(frac) < 0:
        raise ValueError(f"frac must be three non-negative fractions summing to 1, got {tuple(frac)}")
    users = torch.as_tensor(users).long().reshape(-1)
    n = users.numel()
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randperm(n, generator=gen)
    if timestamps is not None:
        timestamps = torch.as_tensor(timestamps).reshape(-1)
        if timestamps.numel() != n:
            raise ValueError(f"timestamps has {timestamps.numel()} entries but users has {n}")
        order = torch.sort(noise, stable=True).indices  # random tie-break first, then a stable time sort
        order = order[torch.sort(timestamps[order], stable=True).indices]
    else:
        order = noise
    if not per_user:
        n_valid, n_test = round(frac[1] * n), round(frac[2] * n)
        cut1, cut2 = n - n_valid - n_test, n - n_test
        return {"train": order[:cut1].sort().values, "valid": order[cut1:cut2].sort().values,
                "test": order[cut2:].sort().values}
    order = order[torch.sort(users[order], stable=True).indices]  # grouped by user, chronological inside
    counts = torch.bincount(users[order])
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - starts[users[order]]
    size = counts[users[order]].double()
    n_test = torch.round(size * frac[2])
    n_valid = torch.round(size * frac[1])
    is_test = rank >= size - n_test
    is_valid = ~is_test & (rank >= size - n_test - n_valid)
    return {
        "train": order[~is_test & ~is_valid].sort().values,
        "valid": order[is_valid].sort().values,
        "test": order[is_test].sort().values,
    }


DENSE_PAIRS = 1 << 26  # (users x items) cells up to which NegativeSampler looks pairs up in a bool table (64 MB)


class NegativeSampler:
    """Uniform negative items per user, excluding the positives ``(pos_users, pos_items)``.

    The positive pairs are indexed once, so each call costs only the vectorised rejection rounds:
    ``sampler(users, num_negatives)`` -> ``(B, num_negatives)`` item ids. The index is a ``[U, I]`` bool table
    when it has at most ``dense_pairs`` cells (MovieLens: 1.6M; a draw is then checked by one lookup), else the
    sorted pair keys ``user * num_items + item`` (a binary search per draw, several times slower). Both give the
    same draws from the same generator state.
    """

    def __init__(self, num_items: int, pos_users: Tensor, pos_items: Tensor, dense_pairs: int = DENSE_PAIRS) -> None:
        check_positive_int("num_items", num_items)
        check_positive_int("dense_pairs", dense_pairs, 0)
        pos_users = _ids("pos_users", pos_users, 2**62, "the id limit")
        pos_items = _ids("pos_items", pos_items, num_items, "num_items")
        self.num_items = num_items
        self.keys = torch.unique(pos_users * num_items + pos_items)
        self.count = torch.bincount(self.keys // num_items) if self.keys.numel() else torch.zeros(0, dtype=torch.long)
        cells = self.count.numel() * num_items
        self.table: Optional[Tensor] = None
        if cells <= dense_pairs:
            # one cell past the last pair: the key of every user without positives is clamped onto it
            self.table = torch.zeros(cells + 1, dtype=torch.bool)
            self.table[self.keys] = True

    def _positive(self, cand: Tensor) -> Tensor:
        """Which keys ``user * num_items + item`` are positive pairs."""
        keys = self.keys
        if self.table is not None:
            return self.table.index_select(0, cand.clamp(max=self.table.numel() - 1))
        if keys.numel() == 0:
            return torch.zeros_like(cand, dtype=torch.bool)
        pos = torch.searchsorted(keys, cand).clamp(max=keys.numel() - 1)
        return keys[pos] == cand

    def __call__(self, users: Tensor, num_negatives: int = 1, generator: Optional[torch.Generator] = None,
                 max_rounds: int = 100) -> Tensor:
        users = _ids("users", users, 2**62, "the id limit")
        check_positive_int("num_negatives", num_negatives)
        num_items = self.num_items
        known = users < self.count.numel()
        full = torch.zeros_like(known)
        full[known] = self.count[users[known]] >= num_items
        if bool(full.any()):
            raise ValueError(f"user {int(users[full][0])} has interacted with all {num_items} items: no negatives")
        rows = users.repeat_interleave(num_negatives)
        out = torch.randint(num_items, (rows.numel(),), generator=generator)
        todo = self._positive(rows * num_items + out).nonzero().view(-1)  # the draws to redo
        for _ in range(max_rounds):
            if todo.numel() == 0:
                return out.view(-1, num_negatives)
            out[todo] = torch.randint(num_items, (todo.numel(),), generator=generator)
            todo = todo[self._positive(rows[todo] * num_items + out[todo])]
        raise RuntimeError(f"negative sampling did not converge in {max_rounds} rounds ({todo.numel()} left)")


def sample_negatives(
    users: Tensor,
    num_items: int,
    pos_users: Tensor,
    pos_items: Tensor,
    num_negatives: int = 1,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    """For each entry of ``users``, ``num_negatives`` items drawn uniformly from those it never interacted with.

    Vectorised rejection sampling against the sorted keys of the positive pairs ``(pos_users, pos_items)``
    (build a :class:`NegativeSampler` once when sampling repeatedly). Raises ``ValueError`` for a user who has
    interacted with every item.

    Shapes:
        - users: ``(B,)``; output: ``(B, num_negatives)`` int64 item ids
    """
    return NegativeSampler(num_items, pos_users, pos_items)(users, num_negatives, generator)


def top_k_items(scores: Tensor, k: int, exclude_users: Optional[Tensor] = None,
                exclude_items: Optional[Tensor] = None) -> Tensor:
    """The ``k`` best-scored items per row of ``scores [U, I]``, after masking the excluded ``(user, item)`` pairs
    (typically the training interactions) to ``-inf``. Returns ``(U, k)`` item ids, best first."""
    if exclude_users is not None:
        scores = scores.clone()
        scores[torch.as_tensor(exclude_users).long(), torch.as_tensor(exclude_items).long()] = float("-inf")
    return torch.topk(scores, min(k, scores.size(1)), dim=1).indices


def _hits(topk: Tensor, users: Tensor, items: Tensor, k: int) -> tuple:
    """``hits [U, k]`` (is the j-th recommendation relevant) and ``n_rel [U]`` (relevant items per row)."""
    topk = topk[:, :k]
    num_rows = topk.size(0)
    users = _ids("users", users, num_rows, "the number of rows of topk")
    items = torch.as_tensor(items).long().reshape(-1)
    if users.numel() != items.numel():
        raise ValueError(f"users has {users.numel()} entries but items has {items.numel()}")
    width = int(max(int(topk.max()) if topk.numel() else 0, int(items.max()) if items.numel() else 0)) + 1
    keys = torch.unique(users * width + items)
    n_rel = torch.bincount(keys // width, minlength=num_rows)
    cand = torch.arange(num_rows)[:, None] * width + topk
    pos = torch.searchsorted(keys, cand).clamp(max=max(keys.numel() - 1, 0))
    hits = (keys[pos] == cand) if keys.numel() else torch.zeros_like(cand, dtype=torch.bool)
    return hits, n_rel


def recall_at_k(topk: Tensor, users: Tensor, items: Tensor, k: int) -> float:
    r"""Mean over users with at least one relevant item of :math:`|\mathrm{top}_k(u) \cap T_u| / |T_u|`.

    ``topk [U, >=k]`` holds ranked item ids per user row; ``(users, items)`` are the relevant (test) pairs.
    This is LightGCN's definition (denominator :math:`|T_u|`, not :math:`\min(k, |T_u|)`).
    """
    hits, n_rel = _hits(topk, users, items, k)
    has = n_rel > 0
    return float((hits.sum(1)[has].double() / n_rel[has]).mean()) if bool(has.any()) else 0.0


def ndcg_at_k(topk: Tensor, users: Tensor, items: Tensor, k: int) -> float:
    r"""Mean NDCG@k with binary relevance: :math:`\mathrm{DCG}/\mathrm{IDCG}`, where
    :math:`\mathrm{DCG} = \sum_{j<k} \mathrm{rel}_j / \log_2(j+2)` and IDCG puts :math:`\min(k, |T_u|)` hits first."""
    hits, n_rel = _hits(topk, users, items, k)
    kk = hits.size(1)
    discount = 1.0 / torch.log2(torch.arange(kk, dtype=torch.float64) + 2)
    dcg = (hits.double() * discount).sum(1)
    ideal = torch.cumsum(discount, 0)
    has = n_rel > 0
    if not bool(has.any()):
        return 0.0
    idcg = ideal[(n_rel[has].clamp(max=kk) - 1)]
    return float((dcg[has] / idcg).mean())
