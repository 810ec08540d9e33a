r"""RGCNConv (Schlichtkrull et al., "Modeling Relational Data with Graph Convolutional Networks")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter

from graphkit.ops._checks import REDUCES, check_positive_int
from graphkit.ops.adjacency import Adjacency
from graphkit.ops.segment_matmul import relation_spmm
from graphkit.nn.aggr import MultiAggregation
from graphkit.nn.conv._relational import compose_bases, read_edge_type
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import glorot, zeros
from graphkit.nn.message_passing import MessagePassing

__all__ = ["RGCNConv"]


class RGCNConv(MessagePassing):
    r"""Relational graph convolution: one weight matrix per edge type (relation), aggregated per relation:

    .. math::
        \mathbf{x}'_i = \mathbf{\Theta}_{\mathrm{root}} \mathbf{x}_i + \mathbf{b} +
        \sum_{r \in \mathcal{R}} \mathbf{\Theta}_r\, \mathrm{aggr}_{j \in \mathcal{N}_r(i)} \mathbf{x}_j

    where :math:`\mathcal{N}_r(i)` are the sources of the edges of type :math:`r` into :math:`i`; with the
    default ``aggr="mean"`` the inner term is :math:`\frac{1}{|\mathcal{N}_r(i)|} \sum_{j} \mathbf{x}_j` (the
    paper's :math:`c_{i,r}` normalisation). A node with no edge of type :math:`r` gets 0 from it.

    Regularisation, as in the paper: ``num_bases`` = :math:`B` shares bases between relations,
    :math:`\mathbf{\Theta}_r = \sum_b a_{rb} \mathbf{V}_b` (parameters ``weight [B, F_in, F_out]`` and
    ``comp [R, B]``); ``num_blocks`` makes every :math:`\mathbf{\Theta}_r` block-diagonal. Arguments, parameter
    names and initialisation are PyG's ``RGCNConv`` (``weight``, ``comp``, ``root``, ``bias``), so its
    ``state_dict`` loads unchanged.

    How it runs: :func:`graphkit.ops.relation_spmm`, gather-matmul-scatter by relation: *one* aggregation
    into the (target, relation) pairs that occur (``P <= min(E, |V_t| R)`` rows, grouped by relation), *one*
    :func:`graphkit.ops.segment_matmul` that gives every relation's rows its own :math:`\mathbf{\Theta}_r`, and
    one scatter to the targets. No ``[E, F]`` message tensor and no Python loop over relations. Aggregations
    other than sum/mean/max/min aggregate into all ``|V_t| R`` pairs and multiply once.

    Featureless nodes (PyG's convention): ``x=None`` makes every node a one-hot vector (``in_channels`` is the
    number of nodes, :math:`\mathbf{\Theta}_r` rows are learned embeddings), and an int tensor ``x`` holds node
    indices into those rows; either side of a pair may be featureless (not with ``num_blocks``).

    On a pixel grid with one relation per neighbour direction (8-connectivity) this is a 3x3 convolution with
    zero padding: the grid graph becomes direction-aware, as a CNN is (``examples/fashion_mnist_grid.py``).

    Args:
        in_channels: input width, or ``(F_src, F_dst)`` for bipartite inputs.
        out_channels: output width.
        num_relations: number of edge types :math:`|\mathcal{R}|`; ``edge_type`` values lie in ``[0, R)``.
        num_bases, num_blocks: basis or block-diagonal decomposition (at most one of them).
        aggr: per-relation aggregation (``"mean"``, ``"sum"``/``"add"``, ``"max"``, ``"min"``, ...; one name).
        root_weight: add :math:`\mathbf{\Theta}_{\mathrm{root}} \mathbf{x}_i`.
        is_sorted: accepted for PyG compatibility; the order of the edges does not matter here.
        bias: learn :math:`\mathbf{b}`.

    Shapes:
        x ``(|V|, F_in)``, ``(|V|)`` int, ``None``, or ``((|V_s|, F_s), (|V_t|, F_t))``; adj ``(2, |E|)`` edge_index, Graph or SparseTensor;
        edge_type ``(|E|)`` int64 in ``[0, R)`` (optional when adj is a Graph with an ``edge_type`` field, or a
        SparseTensor whose values are the types) -> ``(|V_t|, F_out)``.

    >>> import torch
    >>> conv = RGCNConv(1, 1, num_relations=2, root_weight=False, bias=False)
    >>> with torch.no_grad():
    ...     _ = conv.weight.copy_(torch.tensor([[[1.0]], [[10.0]]]))
    >>> ei = torch.tensor([[0, 1, 2], [2, 2, 2]])  # 0 -> 2 and 1 -> 2 of type 0, 2 -> 2 of type 1
    >>> conv(torch.tensor([[1.0], [3.0], [5.0]]), ei, torch.tensor([0, 0, 1])).view(-1).tolist()
    [0.0, 0.0, 52.0]
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, num_relations: int,
                 num_bases: Optional[int] = None, num_blocks: Optional[int] = None, aggr: Any = "mean",
                 root_weight: bool = True, is_sorted: bool = False, bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", aggr)
        super().__init__(**kwargs)
        if isinstance(self.aggr_module, MultiAggregation):
            raise ValueError(f"aggr must be a single aggregation for RGCNConv, got {kwargs['aggr']!r}")
        check_positive_int("num_relations", num_relations)
        if num_bases is not None and num_blocks is not None:
            raise ValueError(f"set num_bases or num_blocks, not both (got {num_bases} and {num_blocks})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_relations, self.num_bases, self.num_blocks = num_relations, num_bases, num_blocks
        self.is_sorted = is_sorted
        c_src, c_dst = pair_channels(in_channels)
        self.in_channels_l = c_src
        if num_bases is not None:
            if num_bases < 1:
                raise ValueError(f"num_bases must be positive, got {num_bases}")
            self.weight = Parameter(torch.empty(num_bases, c_src, out_channels))
            self.comp: Optional[Parameter] = Parameter(torch.empty(num_relations, num_bases))
        elif num_blocks is not None:
            if num_blocks < 1 or c_src % num_blocks or out_channels % num_blocks:
                raise ValueError(f"num_blocks must divide in_channels ({c_src}) and out_channels ({out_channels}), "
                                 f"got {num_blocks}")
            self.weight = Parameter(
                torch.empty(num_relations, num_blocks, c_src // num_blocks, out_channels // num_blocks))
            self.register_parameter("comp", None)
        else:
            self.weight = Parameter(torch.empty(num_relations, c_src, out_channels))
            self.register_parameter("comp", None)
        self.root: Optional[Parameter] = Parameter(torch.empty(c_dst, out_channels)) if root_weight else None
        self.bias: Optional[Parameter] = Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.weight)
        glorot(self.comp)
        glorot(self.root)
        zeros(self.bias)

    def relation_weight(self) -> Tensor:
        """:math:`\\mathbf{\\Theta}_r` for every relation: ``[R, F_in, F_out]`` (``[R, nb, F_in/nb, F_out/nb]``
        with ``num_blocks``), composed from the bases when ``num_bases`` is set."""
        return self.weight if self.comp is None else compose_bases(self.comp, self.weight)

    def _sides(self, x: Any) -> Tuple[Optional[Tensor], Optional[Tensor], bool]:
        """``(x_src, x_dst, pair)``; ``None`` or an int tensor marks featureless nodes (PyG's convention)."""
        if x is None:
            return None, None, False
        x_src, x_dst = as_pair(x)
        for what, t in (("x", x_src), ("x_dst", x_dst)):
            if t is not None and (not isinstance(t, Tensor) or t.is_complex() or t.dtype == torch.bool):
                raise TypeError(f"{what} must hold floating node features or int node indices (featureless "
                                f"nodes), got {getattr(t, 'dtype', type(t).__name__)}")
        return x_src, x_dst, not isinstance(x, Tensor)

    def forward(self, x: Union[Optional[Tensor], Tuple[Optional[Tensor], Optional[Tensor]]], adj: Any,
                edge_type: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst, pair = self._sides(x)
        featureless = x_src is None or not x_src.is_floating_point()
        if featureless and self.num_blocks is not None:
            raise ValueError("block-diagonal decomposition (num_blocks) needs floating node features, got "
                             f"{'x=None' if x_src is None else f'x of dtype {x_src.dtype}'}")
        n_src = self.in_channels_l if x_src is None else x_src.size(0)
        if size is None and x_src is None:  # x=None: the sources are the in_channels one-hot nodes
            size = (n_src, n_src if not pair else None)
        adj_ = self.adjacency(adj, size, x=(x_src if x_src is not None else torch.empty(n_src, 0), x_dst))
        types = read_edge_type(adj_, adj, edge_type, self.num_relations)
        weight = self.relation_weight()
        reduce = {"add": "sum"}.get(self.aggr, self.aggr)
        if isinstance(reduce, str) and reduce in REDUCES:
            out = relation_spmm(adj_, x_src, types, weight, reduce=reduce)
        else:  # an aggregation the kernels do not have: the per-(node, relation) propagate, then one matmul
            if featureless:
                raise ValueError(f"aggr={self.aggr!r} needs floating node features x (featureless nodes take "
                                 f"{REDUCES})")
            out = self._propagate_then_matmul(adj_, x_src, types, weight)
        if self.root is not None:
            if x_dst is None and not pair:  # x=None: every target is its own one-hot row of root
                out = out + self.root
            elif x_dst is not None:
                out = out + (x_dst @ self.root if x_dst.is_floating_point() else self.root[x_dst.long()])
        if self.bias is not None:
            out = out + self.bias
        return out

    def _propagate_then_matmul(self, adj_: Adjacency, x_src: Tensor, types: Tensor, weight: Tensor) -> Tensor:
        r = self.num_relations
        # Re-target every edge j -> i to the (node, relation) pair i*R + r: one aggregation then yields the
        # per-relation aggregates of all nodes at once, [|V_t| * R, F_in], viewed as [|V_t|, R, F_in].
        by_relation = Adjacency(torch.stack([adj_.src, adj_.dst * r + types]), adj_.num_src, adj_.num_dst * r)
        h = self.propagate(by_relation, x=x_src).view(adj_.num_dst, r, -1)
        if self.num_blocks is not None:
            nb, bi = weight.size(1), weight.size(2)
            out = torch.einsum("nrbi,rbio->nbo", h.reshape(adj_.num_dst, r, nb, bi), weight)
            return out.reshape(adj_.num_dst, self.out_channels)
        return h.reshape(adj_.num_dst, -1) @ weight.reshape(-1, self.out_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_relations={self.num_relations})"
