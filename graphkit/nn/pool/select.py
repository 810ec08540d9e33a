r"""The pieces every node-dropping pool shares, written once: reading PyG-style or graphkit inputs, choosing the
top-:math:`k` nodes of each graph, keeping the edges between kept nodes, and the result type.

A pool is called PyG's way, ``pool(x, edge_index, edge_attr, batch)``, or graphkit's way with a ``Graph`` /
``Batch`` in the ``edge_index`` slot (``edge_attr`` and ``batch`` are then read from it). Both return a
:class:`PoolOutput`, which unpacks like PyG's tuple; after a graphkit-style call its ``graph`` is the pooled
``Graph`` / ``Batch`` (every node and edge field kept for the surviving nodes and edges, ``x`` pooled).

>>> score = torch.tensor([0.1, 0.9, 0.5, 0.7, 0.2])
>>> topk(score, 0.5, torch.tensor([0, 0, 0, 1, 1])).tolist()  # ceil(0.5 * 3) = 2 and ceil(0.5 * 2) = 1
[1, 2, 3]
>>> ei, _, kept = filter_edges(torch.tensor([[0, 1, 2, 3], [1, 2, 1, 4]]), None, torch.tensor([1, 2, 3]), 5)
>>> ei.tolist(), kept.tolist()
([[0, 1], [1, 0]], [False, True, True, False])
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Dict, List, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.nn.inits import uniform
from graphkit.nn.normalization.resolver import activation_resolver
from graphkit.utils.softmax import softmax

__all__ = ["PoolInputs", "PoolResult", "PoolOutput", "pool_inputs", "topk", "filter_edges", "pooled_graph",
           "SelectTopK", "keep_top_nodes"]


class PoolInputs(NamedTuple):
    """What a pool reads, whichever way it was called; ``source`` is the ``Graph``/``Batch`` if one was given."""

    edge_index: Tensor
    edge_attr: Optional[Tensor]
    batch: Tensor
    source: Optional[Graph]


def pool_inputs(x: Tensor, edge_index: Union[Tensor, Graph], edge_attr: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, edge_attr_name: str = "edge_attr") -> PoolInputs:
    """Normalise a pool's arguments: a ``Graph``/``Batch`` in the ``edge_index`` slot supplies its structure,
    its ``edge_attr_name`` field (unless ``edge_attr`` is given) and, for a ``Batch``, its ``batch`` vector."""
    if not isinstance(x, Tensor) or x.dim() not in (1, 2):
        raise ValueError(f"x must be a [N] or [N, F] tensor, got {getattr(x, 'shape', type(x).__name__)}")
    source: Optional[Graph] = None
    if isinstance(edge_index, Graph):
        source = edge_index
        if source.num_nodes != x.size(0):
            raise ValueError(f"x has {x.size(0)} rows but the graph has {source.num_nodes} nodes")
        if edge_attr is None and edge_attr_name in source.keys():
            edge_attr = source[edge_attr_name]
        if batch is None and isinstance(source, Batch):
            batch = source.batch
        edge_index = source.edge_index_or_empty()
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must be a [2, E] tensor or a Graph, got "
                         f"{getattr(edge_index, 'shape', type(edge_index).__name__)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.size(0)):
        raise ValueError(f"edge_index has entries outside [0, {x.size(0)}) (x has {x.size(0)} rows)")
    if edge_attr is not None and edge_attr.size(0) != edge_index.size(1):
        raise ValueError(f"edge_attr has {edge_attr.size(0)} rows but there are {edge_index.size(1)} edges")
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    elif batch.dim() != 1 or batch.numel() != x.size(0):
        raise ValueError(f"batch must have shape [{x.size(0)}] (one graph id per node), got {list(batch.shape)}")
    return PoolInputs(edge_index, edge_attr, batch.long(), source)


def _num_graphs(batch: Tensor) -> int:
    return int(batch.max()) + 1 if batch.numel() else 0


def topk(score: Tensor, ratio: Optional[Union[int, float]], batch: Tensor, min_score: Optional[float] = None,
         tol: float = 1e-7) -> Tensor:
    r"""The indices of the nodes a top-:math:`k` pool keeps.

    With ``min_score`` :math:`\tilde\alpha`: every node with :math:`y_i > \min(\tilde\alpha, \max_{j \in g} y_j -
    \mathrm{tol})` (in node order; each graph keeps at least its best node). Else per graph
    :math:`k = \lceil \mathrm{ratio} \cdot n_g \rceil` (a float ratio, computed in ``score``'s dtype, as PyG does)
    or :math:`k = \min(\mathrm{ratio}, n_g)` (an int ratio), ordered by graph, then by descending score.

    Shapes:
        score ``(N,)``, batch ``(N,)`` -> ``(K,)`` int64.
    """
    if min_score is not None:
        best = ops.scatter(score.view(-1, 1), batch, _num_graphs(batch), reduce="max").view(-1)[batch] - tol
        return (score > best.clamp(max=min_score)).nonzero().view(-1)
    if ratio is None:
        raise ValueError("topk needs ratio or min_score, got neither")
    if isinstance(ratio, bool) or not ratio > 0:
        raise ValueError(f"ratio must be a positive float below 1 or a positive int, got {ratio!r}")
    counts = torch.bincount(batch, minlength=_num_graphs(batch))
    if ratio >= 1:
        k = torch.full_like(counts, int(ratio))
    else:
        k = (float(ratio) * counts.to(score.dtype)).ceil().long()
    # Descending score, then a stable sort by graph: each graph's nodes stay in score order. Exact ties keep the
    # order of torch's default (unstable) sort, which is what PyG's choice is, so both keep the same nodes.
    by_score = torch.sort(score.view(-1), descending=True).indices
    graph_of, by_graph = torch.sort(batch[by_score], stable=True)
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    rank = torch.arange(score.numel(), device=score.device) - ptr[graph_of]
    return by_score[by_graph[rank < k[graph_of]]]


def filter_edges(edge_index: Tensor, edge_attr: Optional[Tensor], perm: Tensor, num_nodes: int
                 ) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """The edges whose two ends are both kept, renumbered to positions in ``perm`` (order preserved).

    Shapes:
        edge_index ``(2, E)``, perm ``(K,)`` -> edge_index ``(2, E')``, edge_attr ``(E', *)``, mask ``(E,)``.
    """
    new_id = torch.full((num_nodes,), -1, dtype=torch.long, device=perm.device)
    new_id[perm] = torch.arange(perm.numel(), device=perm.device)
    ends = new_id[edge_index]
    kept = (ends >= 0).all(dim=0)
    return ends[:, kept], (edge_attr[kept] if edge_attr is not None else None), kept


class PoolResult(tuple):
    """A pool's result: a plain tuple in PyG's order (so PyG-style unpacking works unchanged), each entry also
    readable by name, plus ``graph``: the pooled ``Graph``/``Batch`` after a graphkit-style call, else ``None``."""

    fields: ClassVar[Tuple[str, ...]] = ()

    def __new__(cls, *values: Any, graph: Optional[Graph] = None) -> "PoolResult":
        if len(values) != len(cls.fields):
            raise TypeError(f"{cls.__name__} takes {len(cls.fields)} values, got {len(values)}")
        out = super().__new__(cls, values)
        out.graph = graph
        return out

    def __getattr__(self, name: str) -> Any:
        if name in type(self).fields:
            return self[type(self).fields.index(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        shape = lambda v: list(v.shape) if isinstance(v, Tensor) else type(v).__name__  # noqa: E731
        return f"{type(self).__name__}({', '.join(f'{k}={shape(v)}' for k, v in zip(self.fields, self))})"


class PoolOutput(PoolResult):
    """A top-k pool's result, in PyG's order: pooled ``x``, the kept edges (renumbered), their ``edge_attr``, the
    pooled ``batch`` vector, ``perm`` (the kept nodes' old indices) and their ``score``."""

    fields = ("x", "edge_index", "edge_attr", "batch", "perm", "score")


def pooled_graph(source: Graph, x: Tensor, perm: Tensor, edge_index: Tensor, batch: Tensor,
                 kept_edges: Optional[Tensor] = None, new_edge_fields: Optional[Dict[str, Tensor]] = None) -> Graph:
    """``source`` restricted to the nodes ``perm`` (``x`` replaced by the pooled one) with the new ``edge_index``.

    ``kept_edges`` (a mask or index of the source's edges) carries the edge fields over; without it the edges are
    new, the source's edge fields are left out and ``new_edge_fields`` are set instead. A ``Batch`` stays a
    ``Batch`` (graph-level fields kept, the members' node and edge counts shrink); the nodes must be grouped by
    graph and the edges by the graph of their source, as a top-k choice and a row-sorted coarsening leave them.
    """
    skip: List[str] = []
    if kept_edges is None:
        skip = [name for name in source.keys() if source.kind(name) == "edge"]
        kept_edges = torch.zeros(0, dtype=torch.long, device=perm.device)
    g = source.select(perm, kept_edges, num_nodes=perm.numel(), edge_index=edge_index, skip=skip)
    g.x = x
    for name, value in (new_edge_fields or {}).items():
        g[name] = value
    if not isinstance(source, Batch):
        return g
    b = source.num_graphs
    counts = torch.bincount(batch, minlength=b)
    edge_counts = torch.bincount(batch[edge_index[0]], minlength=b)
    zero = counts.new_zeros(1)
    return Batch.from_parts(g, torch.cat([zero, counts.cumsum(0)]), torch.cat([zero, edge_counts.cumsum(0)]),
                            batch=batch)


class SelectTopK(torch.nn.Module):
    r"""The scoring and choice of a top-:math:`k` pool (Gao and Ji, "Graph U-Nets"; Cangea et al.; Knyazev et al.):

    .. math::
        y_i = \sigma\!\left(\frac{\mathbf{x}_i \cdot \mathbf{p}}{\lVert\mathbf{p}\rVert}\right),\quad
        \mathbf{i} = \mathrm{top}_k(\mathbf{y})

    or, with ``min_score``, :math:`y = \mathrm{softmax}_{g}(\mathbf{x}_i \cdot \mathbf{p})` and
    :math:`\mathbf{i} = \{i : y_i > \tilde\alpha\}` (see :func:`topk`). The parameter is ``weight``
    (``[1, F]``), as in PyG's ``SelectTopK``.

    Shapes:
        x ``(N, F)``, batch ``(N,)`` -> perm ``(K,)``, score of all nodes ``(N,)``.

    >>> select = SelectTopK(2, ratio=1)
    >>> perm, score = select(torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0, 1]))
    >>> perm.numel(), score.shape
    (2, torch.Size([3]))
    """

    def __init__(self, in_channels: int, ratio: Optional[Union[int, float]] = 0.5, min_score: Optional[float] = None,
                 act: Union[str, Callable] = "tanh") -> None:
        super().__init__()
        if ratio is None and min_score is None:
            raise ValueError("SelectTopK needs ratio or min_score, got neither")
        self.in_channels, self.ratio, self.min_score = in_channels, ratio, min_score
        self.act = activation_resolver(act)
        self.weight = torch.nn.Parameter(torch.empty(1, in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        uniform(self.in_channels, self.weight)

    def forward(self, x: Tensor, batch: Tensor) -> Tuple[Tensor, Tensor]:
        x = x.view(-1, 1) if x.dim() == 1 else x
        if x.size(-1) != self.in_channels:
            raise ValueError(f"x has {x.size(-1)} channels but in_channels is {self.in_channels}")
        score = (x * self.weight).sum(dim=-1)
        if self.min_score is None:
            score = self.act(score / self.weight.norm(p=2, dim=-1))
        else:
            score = softmax(score, batch)
        return topk(score, self.ratio, batch, self.min_score), score


def keep_top_nodes(x: Tensor, inputs: PoolInputs, perm: Tensor, score: Tensor, multiplier: float) -> PoolOutput:
    r"""The shared end of TopK and SAG pooling: :math:`\mathbf{x}' = m \cdot \mathbf{x}_{\mathbf{i}} \odot
    \mathbf{y}_{\mathbf{i}}`, the edges among the kept nodes, and the pooled batch vector."""
    kept_score = score[perm]
    x = x.view(-1, 1) if x.dim() == 1 else x
    out = x[perm] * kept_score.view(-1, 1)
    out = multiplier * out if multiplier != 1 else out
    edge_index, edge_attr, kept = filter_edges(inputs.edge_index, inputs.edge_attr, perm, x.size(0))
    batch = inputs.batch[perm]
    graph = None
    if inputs.source is not None:
        graph = pooled_graph(inputs.source, out, perm, edge_index, batch, kept_edges=kept)
    return PoolOutput(out, edge_index, edge_attr, batch, perm, kept_score, graph=graph)
