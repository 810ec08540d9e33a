"""MovieLens-100k (Harper & Konstan, 2015) read from the copy inside the installed ``recbole`` package.

Source: ``recbole/dataset_example/ml-100k/ml-100k.inter`` (recbole 1.2.1, ``pip install --no-deps``): 100,000
ratings by 943 users of 1,682 movies, with timestamps. GroupLens' licence forbids redistribution, so the file is
read in place and never copied into this repository (the processed cache under ``root`` is a local derivative
for the user's own use). Every rating counts as an implicit interaction unless ``min_rating`` is set.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor

from graphkit.data.cache import cached
from graphkit.data.recsys import interactions_to_graph, split_interactions
from graphkit.datasets.base import package_file
from graphkit.graph import Graph

__all__ = ["MovieLens100K"]


class MovieLens100K:
    """Implicit-feedback MovieLens-100k with a time-based (default) or random per-user split.

    Attributes: ``users``, ``items`` (contiguous ids), ``ratings``, ``timestamps`` (all ``[M]``), ``num_users``,
    ``num_items``, ``split`` (interaction positions), ``train_graph()`` (the LightGCN-normalised bipartite graph of
    the training interactions), ``user_ids``/``item_ids`` (the original tokens of each contiguous id).
    """

    name = "movielens-100k"
    kind = "recsys"
    task = "recsys"
    eval_metric = "recall@20"

    def __init__(self, root: Optional[str] = None, split: str = "time", frac: tuple = (0.8, 0.1, 0.1),
                 min_rating: Optional[float] = None, seed: int = 0) -> None:
        if split not in ("time", "random"):
            raise ValueError(f"split must be 'time' or 'random', got {split!r}")

        def build() -> tuple:
            import pandas as pd

            path = package_file("recbole", "dataset_example", "ml-100k", "ml-100k.inter",
                                install="pip install --no-deps recbole==1.2.1")
            frame = pd.read_csv(path, sep="\t")
            frame.columns = [c.split(":")[0] for c in frame.columns]
            user_ids, users = np.unique(frame["user_id"].to_numpy(), return_inverse=True)
            item_ids, items = np.unique(frame["item_id"].to_numpy(), return_inverse=True)
            return {
                "users": users.astype(np.int64), "items": items.astype(np.int64),
                "ratings": frame["rating"].to_numpy(np.float32), "timestamps": frame["timestamp"].to_numpy(np.int64),
                "user_ids": user_ids.astype(np.int64), "item_ids": item_ids.astype(np.int64),
            }, {}

        arrays, _ = cached(root, self.name, {"source": "recbole-1.2.1"}, build)
        keep = np.ones(len(arrays["users"]), dtype=bool)
        if min_rating is not None:
            keep = arrays["ratings"] >= min_rating
        self.users = torch.from_numpy(arrays["users"][keep])
        self.items = torch.from_numpy(arrays["items"][keep])
        self.ratings = torch.from_numpy(arrays["ratings"][keep])
        self.timestamps = torch.from_numpy(arrays["timestamps"][keep])
        self.user_ids = torch.from_numpy(arrays["user_ids"])
        self.item_ids = torch.from_numpy(arrays["item_ids"])
        self.num_users, self.num_items = len(self.user_ids), len(self.item_ids)
        ts = self.timestamps if split == "time" else None
        self.split = split_interactions(self.users, ts, frac, per_user=True, seed=seed)

    def __len__(self) -> int:
        return int(self.users.numel())

    def pairs(self, split: str) -> tuple:
        """``(users, items)`` of one split's interactions."""
        idx = self.split[split]
        return self.users[idx], self.items[idx]

    def train_graph(self, normalize: bool = True) -> Graph:
        u, i = self.pairs("train")
        return interactions_to_graph(u, i, self.num_users, self.num_items, normalize=normalize)

    def item_popularity(self, split: str = "train") -> Tensor:
        """Interaction count of every item in one split (the most-popular baseline's score)."""
        return torch.bincount(self.pairs(split)[1], minlength=self.num_items)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.split.items())
        return f"MovieLens100K({self.num_users} users, {self.num_items} items, {len(self)} interactions; {sizes})"
