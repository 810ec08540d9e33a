r"""Node2Vec (Grover & Leskovec, 2016) with PyG's API, trained GraphVite-style: walks come from C++ CPU threads
on a background producer while the model trains on the previous batch.

Skip-gram with negative sampling: every window ``(v, c_1, ..., c_{k-1})`` of ``context_size`` consecutive nodes of
a walk scores the start against the rest, and against as many windows of uniformly random nodes,

.. math:: L = -\frac{1}{|P|}\sum_{(v,c)\in P} \log\sigma(\mathbf{z}_v^\top\mathbf{z}_c)
          - \frac{1}{|N|}\sum_{(v,c)\in N} \log\bigl(1-\sigma(\mathbf{z}_v^\top\mathbf{z}_c)\bigr)

Shapes:
    ``forward(batch)`` -> ``(len(batch), embedding_dim)`` (all ``(N, embedding_dim)`` without ``batch``);
    ``pos_sample(batch)``, ``neg_sample(batch)`` -> ``(len(batch) * walks_per_node * r, context_size)`` with
    ``r = walk_length + 1 - context_size`` windows per walk (times ``num_negative_samples`` for negatives),
    window-major as PyG's (all walks' first windows, then their second, ...).

>>> import torch
>>> ring = torch.arange(6)
>>> edge_index = torch.cat([torch.stack([ring, (ring + 1) % 6]), torch.stack([(ring + 1) % 6, ring])], 1)
>>> model = Node2Vec(edge_index, embedding_dim=8, walk_length=4, context_size=3, walks_per_node=2)
>>> pos_rw, neg_rw = next(iter(model.loader(batch_size=3, seed=0)))
>>> pos_rw.shape, neg_rw.shape, model().shape
(torch.Size([12, 3]), torch.Size([12, 3]), torch.Size([6, 8]))
>>> bool(model.loss(pos_rw, neg_rw) > 0)
True
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

import torch
from torch import Tensor

from graphkit.loader.random_walk import WalkGraph, _check_walk_args
from graphkit.loader.sampler import mix_seed
from graphkit.loader.subgraph import SeededLoader
from graphkit.nn.models.skipgram import skipgram_loss
from graphkit.ops._checks import check_positive_int

__all__ = ["Node2Vec", "Node2VecLoader"]


class Node2Vec(torch.nn.Module):
    """Node embeddings from (biased) random walks (PyG's ``Node2Vec``: same constructor, ``loader``,
    ``pos_sample``/``neg_sample``/``sample``, ``loss`` and ``test``; parameter ``embedding.weight``).

    Args:
        edge_index: ``[2, E]`` edges (walks follow ``edge_index[0] -> edge_index[1]``).
        embedding_dim: size of each embedding.
        walk_length: nodes per walk, the start included (PyG 2.8's meaning: ``walk_length - 1`` steps).
        context_size: window size; ``2 <= context_size <= walk_length``.
        walks_per_node: walks started from each node of a batch.
        p, q: node2vec's return and in-out parameters (``p = q = 1``: DeepWalk's uniform walk).
        num_negative_samples: negative windows per positive one.
        num_nodes: ``N`` (default: inferred from ``edge_index``).
        sparse: sparse gradients for the embedding (use ``torch.optim.SparseAdam``).
    """

    def __init__(self, edge_index: Tensor, embedding_dim: int, walk_length: int, context_size: int,
                 walks_per_node: int = 1, p: float = 1.0, q: float = 1.0, num_negative_samples: int = 1,
                 num_nodes: Optional[int] = None, sparse: bool = False) -> None:
        super().__init__()
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must be a [2, E] tensor, got {getattr(edge_index, 'shape', edge_index)!r}")
        check_positive_int("embedding_dim", embedding_dim)
        _check_walk_args(walk_length, p, q)
        check_positive_int("walk_length", walk_length, 2)
        if isinstance(context_size, bool) or not isinstance(context_size, int) or not (
                2 <= context_size <= walk_length):
            raise ValueError(f"context_size must be an int in [2, walk_length = {walk_length}], got {context_size!r}")
        self.walks = WalkGraph(edge_index[0].cpu(), edge_index[1].cpu(), num_nodes)
        self.num_nodes = self.walks.num_nodes
        self.embedding_dim, self.walk_length, self.context_size = embedding_dim, walk_length, context_size
        self.walks_per_node = check_positive_int("walks_per_node", walks_per_node)
        self.num_negative_samples = check_positive_int("num_negative_samples", num_negative_samples)
        self.p, self.q = float(p), float(q)
        self.embedding = torch.nn.Embedding(self.num_nodes, embedding_dim, sparse=sparse)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()

    def forward(self, batch: Optional[Tensor] = None) -> Tensor:
        """The embeddings of ``batch`` (all nodes when ``None``)."""
        emb = self.embedding.weight
        return emb if batch is None else emb.index_select(0, batch)

    def loader(self, batch_size: int = 128, shuffle: bool = True, seed: Optional[int] = None,
               prefetch: int = 2, **kwargs: Any) -> "Node2VecLoader":
        """Batches ``(pos_rw, neg_rw)`` over all nodes, produced on a background thread (``prefetch`` ahead)."""
        if kwargs:
            raise ValueError(f"unsupported loader arguments {sorted(kwargs)}: walks are produced by C++ threads on "
                             "one background producer, not by DataLoader workers")
        return Node2VecLoader(self, batch_size, shuffle, seed, prefetch)

    def _windows(self, rw: Tensor) -> Tensor:
        return rw.unfold(1, self.context_size, 1).transpose(0, 1).reshape(-1, self.context_size)

    def pos_sample(self, batch: Tensor, seed: int = 0) -> Tensor:
        """Windows of walks from each node of ``batch`` (``walks_per_node`` each)."""
        start = batch.reshape(-1).long().repeat(self.walks_per_node)
        rw, _ = self.walks.walk(start, self.walk_length - 1, self.p, self.q, seed)
        return self._windows(rw)

    def neg_sample(self, batch: Tensor, seed: int = 0) -> Tensor:
        """Windows of uniformly random nodes, each starting at a node of ``batch``."""
        start = batch.reshape(-1).long().repeat(self.walks_per_node * self.num_negative_samples)
        gen = torch.Generator().manual_seed(seed)
        rw = torch.randint(self.num_nodes, (start.numel(), self.walk_length - 1), generator=gen)
        return self._windows(torch.cat([start.view(-1, 1), rw], 1))

    def sample(self, batch: Tensor, seed: int = 0) -> Tuple[Tensor, Tensor]:
        if not isinstance(batch, Tensor):
            batch = torch.tensor(batch, dtype=torch.long)
        return self.pos_sample(batch, mix_seed(seed, 0)), self.neg_sample(batch, mix_seed(seed, 1))

    def loss(self, pos_rw: Tensor, neg_rw: Tensor) -> Tensor:
        """Skip-gram negative-sampling loss of a batch (the module docstring's ``L``; PyG's value and gradient).

        Computed by :func:`~graphkit.nn.models.skipgram.skipgram_loss`: the windows of the loader's batches are
        folded back into their walks, so each walk's embeddings are gathered once, and with ``sparse=True`` the
        gradient is a coalesced sparse tensor over the distinct nodes of the batch.
        """
        return skipgram_loss(self.embedding.weight, pos_rw, neg_rw, self.walk_length, self.embedding.sparse)

    def test(self, train_z: Tensor, train_y: Tensor, test_z: Tensor, test_y: Tensor, solver: str = "lbfgs",
             *args: Any, **kwargs: Any) -> float:
        """Accuracy of a logistic-regression probe fitted on ``(train_z, train_y)`` and scored on the test set."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(*args, solver=solver, **kwargs).fit(train_z.detach().cpu().numpy(),
                                                                    train_y.detach().cpu().numpy())
        return float(clf.score(test_z.detach().cpu().numpy(), test_y.detach().cpu().numpy()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_nodes}, {self.embedding_dim})"


class Node2VecLoader(SeededLoader):
    """An epoch of ``(pos_rw, neg_rw)`` batches over every node; batch ``b`` of epoch ``e`` is a function of
    ``(seed, e, b)``. With ``prefetch > 0`` the walks of the next batches are produced on a background thread
    (the walk kernel releases the GIL and runs on the CPU threads) while the current batch trains."""

    def __init__(self, model: Node2Vec, batch_size: int = 128, shuffle: bool = True, seed: Optional[int] = None,
                 prefetch: int = 2) -> None:
        super().__init__(seed, prefetch)
        self.model = model
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)

    def __len__(self) -> int:
        return -(-self.model.num_nodes // self.batch_size)

    def _batches(self, epoch_seed: int) -> Iterator[Tuple[Tensor, Tensor]]:
        n = self.model.num_nodes
        order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed)) if self.shuffle else \
            torch.arange(n)
        for b in range(len(self)):
            yield self.model.sample(order[b * self.batch_size:(b + 1) * self.batch_size], mix_seed(epoch_seed, b))
