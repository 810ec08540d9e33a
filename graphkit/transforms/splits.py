"""Train/validation/test splits as transforms: ``RandomNodeSplit`` (node masks) and ``RandomLinkSplit``
(three graphs for link prediction), with PyG's semantics. Randomness comes from torch's global generator."""
from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.transforms.base import check_graph, fields_of, new_graph
from graphkit.transforms.base import BaseTransform
from graphkit.utils import negative_sampling

__all__ = ["RandomNodeSplit", "RandomLinkSplit"]

Count = Union[int, float]
_NODE_SPLITS = ("train_rest", "test_rest", "random")


def _count(value: Count, total: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int or fraction, got {value!r}")
    return int(round(total * value)) if isinstance(value, float) else int(value)


class RandomNodeSplit(BaseTransform):
    """Boolean node masks ``train_mask``, ``val_mask``, ``test_mask`` (``[N]``, or ``[N, num_splits]``).

    * ``"train_rest"``: ``num_val`` and ``num_test`` random nodes; the rest train.
    * ``"test_rest"``: ``num_train_per_class`` random nodes of every class train, ``num_val`` of the others
      validate, the rest test.
    * ``"random"``: like ``"test_rest"`` but only ``num_test`` nodes test.

    ``num_val``/``num_test`` are counts, or fractions of all nodes. Classes come from the node field ``key``.

    >>> torch.manual_seed(0) and None
    >>> g = RandomNodeSplit(num_val=2, num_test=3)(Graph(x=torch.zeros(10, 1)))
    >>> int(g.train_mask.sum()), int(g.val_mask.sum()), int(g.test_mask.sum())
    (5, 2, 3)
    """

    def __init__(self, split: str = "train_rest", num_splits: int = 1, num_train_per_class: int = 20,
                 num_val: Count = 500, num_test: Count = 1000, key: str = "y") -> None:
        if split not in _NODE_SPLITS:
            raise ValueError(f"split must be one of {_NODE_SPLITS}, got {split!r}")
        if num_splits < 1:
            raise ValueError(f"num_splits must be at least 1, got {num_splits}")
        self.split, self.num_splits, self.num_train_per_class = split, num_splits, num_train_per_class
        self.num_val, self.num_test, self.key = num_val, num_test, key

    def _one(self, graph: Graph) -> Tuple[Tensor, Tensor, Tensor]:
        n = graph.num_nodes
        train, val, test = (torch.zeros(n, dtype=torch.bool) for _ in range(3))
        num_val = _count(self.num_val, n, "num_val")
        num_test = _count(self.num_test, n, "num_test")
        if self.split == "train_rest":
            if num_val + num_test > n:
                raise ValueError(f"num_val + num_test = {num_val + num_test} exceeds the {n} nodes")
            perm = torch.randperm(n)
            val[perm[:num_val]] = True
            test[perm[num_val:num_val + num_test]] = True
            train[perm[num_val + num_test:]] = True
            return train, val, test
        y = getattr(graph, self.key, None)
        if not isinstance(y, Tensor) or y.size(0) != n:
            raise ValueError(f"RandomNodeSplit(split={self.split!r}) needs per-node classes in field {self.key!r}")
        y = y.view(-1).cpu()
        for c in range(int(y.max()) + 1 if y.numel() else 0):
            members = (y == c).nonzero(as_tuple=False).view(-1)
            train[members[torch.randperm(members.numel())[: self.num_train_per_class]]] = True
        rest = (~train).nonzero(as_tuple=False).view(-1)
        rest = rest[torch.randperm(rest.numel())]
        val[rest[:num_val]] = True
        test[rest[num_val:] if self.split == "test_rest" else rest[num_val:num_val + num_test]] = True
        return train, val, test

    def forward(self, graph: Graph) -> Graph:
        masks = [self._one(graph) for _ in range(self.num_splits)]
        fields = fields_of(graph)
        device = graph.edge_index.device if graph.edge_index is not None else torch.device("cpu")
        for i, name in enumerate(("train_mask", "val_mask", "test_mask")):
            parts = [m[i] for m in masks]
            value = parts[0] if self.num_splits == 1 else torch.stack(parts, dim=1)
            fields[name] = (value.to(device), "node")
        return new_graph(graph.num_nodes, graph.edge_index, fields)


class RandomLinkSplit:
    """Split the edges into training, validation and test graphs for link prediction (PyG's semantics).

    Each output graph keeps every node field; its ``edge_index`` holds the *message-passing* edges (train: the
    training edges not held out for supervision; val: all training edges; test: training + validation edges),
    with their per-edge fields. The *supervision* edges and their labels are ``edge_label_index`` ``[2, L]`` and
    ``edge_label`` ``[L]``: positives first (label 1, or ``key``'s labels + 1 when the graph has them), then
    ``neg_sampling_ratio`` times as many sampled non-edges (label 0). With ``split_labels`` they come as
    ``pos_edge_label(_index)`` and ``neg_edge_label(_index)`` instead.

    ``is_undirected``: the graph stores each edge in both directions; the split is over the pairs ``i <= j``
    and the message-passing edges come back in both directions. ``disjoint_train_ratio``: that share (or count)
    of the training edges supervises only and is left out of the training graph's message passing.

    >>> torch.manual_seed(0) and None
    >>> ring = torch.tensor([[i for i in range(10)], [(i + 1) % 10 for i in range(10)]])
    >>> train, val, test = RandomLinkSplit(num_val=0.2, num_test=0.2)(Graph(edge_index=ring))
    >>> train.num_edges, val.num_edges, test.num_edges, val.edge_label.tolist()
    (6, 6, 8, [1.0, 1.0, 0.0, 0.0])
    """

    def __init__(self, num_val: Count = 0.1, num_test: Count = 0.2, is_undirected: bool = False,
                 key: str = "edge_label", split_labels: bool = False, add_negative_train_samples: bool = True,
                 neg_sampling_ratio: float = 1.0, disjoint_train_ratio: Count = 0.0) -> None:
        if neg_sampling_ratio < 0:
            raise ValueError(f"neg_sampling_ratio must be non-negative, got {neg_sampling_ratio}")
        self.num_val, self.num_test, self.is_undirected = num_val, num_test, is_undirected
        self.key, self.split_labels = key, split_labels
        self.add_negative_train_samples, self.neg_sampling_ratio = add_negative_train_samples, neg_sampling_ratio
        self.disjoint_train_ratio = disjoint_train_ratio

    @staticmethod
    def _amount(value: Count, total: int, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int or fraction, got {value!r}")
        return int(value * total) if isinstance(value, float) else int(value)  # PyG truncates

    def __call__(self, graph: Graph) -> Tuple[Graph, Graph, Graph]:
        check_graph(graph, "RandomLinkSplit")
        if graph.edge_index is None:
            raise ValueError("RandomLinkSplit needs a graph with edge_index")
        ei = graph.edge_index
        perm = torch.randperm(ei.size(1), device=ei.device)
        if self.is_undirected:
            perm = perm[ei[0, perm] <= ei[1, perm]]
        num_val = self._amount(self.num_val, perm.numel(), "num_val")
        num_test = self._amount(self.num_test, perm.numel(), "num_test")
        num_train = perm.numel() - num_val - num_test
        if num_train <= 0:
            raise ValueError(f"RandomLinkSplit: {perm.numel()} edges leave none for training after "
                             f"{num_val} validation and {num_test} test edges")
        num_disjoint = self._amount(self.disjoint_train_ratio, num_train, "disjoint_train_ratio")
        if num_disjoint >= num_train and num_disjoint > 0:
            raise ValueError(f"disjoint_train_ratio leaves no training edges for message passing "
                             f"({num_disjoint} of {num_train})")
        train_edges = perm[:num_train]
        val_edges = perm[num_train:num_train + num_val]
        test_edges = perm[num_train + num_val:]
        train_sup = train_edges[:num_disjoint] if num_disjoint > 0 else train_edges

        ratio = self.neg_sampling_ratio
        num_neg_train = int(train_sup.numel() * ratio) if self.add_negative_train_samples else 0
        num_neg_val, num_neg_test = int(num_val * ratio), int(num_test * ratio)
        neg = negative_sampling(ei, graph.num_nodes, num_neg_train + num_neg_val + num_neg_test)
        neg_val, neg_test = neg[:, :num_neg_val], neg[:, num_neg_val:num_neg_val + num_neg_test]
        neg_train = neg[:, num_neg_val + num_neg_test:]

        train = self._labelled(graph, train_edges[num_disjoint:], train_sup, neg_train)
        val = self._labelled(graph, train_edges, val_edges, neg_val)
        test = self._labelled(graph, perm[:num_train + num_val], test_edges, neg_test)
        return train, val, test

    def _labelled(self, graph: Graph, message: Tensor, supervision: Tensor, neg: Tensor) -> Graph:
        ei = graph.edge_index
        fields = fields_of(graph)
        given = fields.pop(self.key, None)
        mp = ei[:, message]
        if self.is_undirected:
            mp = torch.cat([mp, mp.flip(0)], dim=1)
        for name, (value, kind) in list(fields.items()):
            if kind == "edge":
                value = value[message]
                fields[name] = (torch.cat([value, value]) if self.is_undirected else value, kind)
        if given is not None:
            label = given[0]
            if label.dtype != torch.long or given[1] != "edge":
                raise ValueError(f"RandomLinkSplit: existing field {self.key!r} must be per-edge int64 labels")
            label = label[supervision] + (1 if self.neg_sampling_ratio > 0 else 0)
        else:
            label = torch.ones(supervision.numel(), device=ei.device)
        pos_index = ei[:, supervision]
        neg_label = label.new_zeros((neg.size(1),) + tuple(label.shape[1:]))
        if self.split_labels:
            fields[f"pos_{self.key}"] = (label, "graph")
            fields[f"pos_{self.key}_index"] = (pos_index, "node_index")
            if neg.numel():
                fields[f"neg_{self.key}"] = (neg_label, "graph")
                fields[f"neg_{self.key}_index"] = (neg, "node_index")
        else:
            fields[self.key] = (torch.cat([label, neg_label]), "graph")
            fields[f"{self.key}_index"] = (torch.cat([pos_index, neg], dim=1), "node_index")
        return new_graph(graph.num_nodes, mp, fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_val={self.num_val}, num_test={self.num_test})"
