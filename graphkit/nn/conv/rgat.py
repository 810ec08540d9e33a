r"""RGATConv (Busbridge et al., "Relational Graph Attention Networks")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from graphkit.graph import Graph
from graphkit.nn.conv._relational import compose_bases, read_edge_type
from graphkit.nn.conv._utils import as_pair
from graphkit.nn.inits import glorot, zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing
from graphkit.ops._checks import check_positive_int
from graphkit.ops.adjacency import Adjacency
from graphkit.ops.segment_matmul import relation_groups, relation_matmul, segment_matmul

__all__ = ["RGATConv"]

MECHANISMS = ("within-relation", "across-relation")
MODES = ("additive-self-attention", "multiplicative-self-attention")
MODS = (None, "additive", "scaled", "f-additive", "f-scaled")
REDUCES = ("add", "sum", "mean", "max", "min")


class RGATConv(MessagePassing):
    r"""Relational graph attention: every edge :math:`j \to i` of relation :math:`r` is seen through that
    relation's transform :math:`\mathbf{W}_r`, and attends with relation-specific queries and keys:

    .. math::
        \mathbf{g}^{(r)}_j = \mathbf{W}_r \mathbf{x}_j \in \mathbb{R}^{H C}, \quad
        \mathbf{q}^{(r)}_i = \mathbf{Q}^\top \mathbf{W}_r \mathbf{x}_i, \quad
        \mathbf{k}^{(r)}_j = \mathbf{K}^\top \mathbf{g}^{(r)}_j \quad (\in \mathbb{R}^{H d})

    with logits (``attention_mode``) :math:`a^{(r)}_{ij} = \mathrm{LeakyReLU}(\mathbf{q}^{(r)}_i +
    \mathbf{k}^{(r)}_j + \mathbf{E}^\top \mathbf{W}_e \mathbf{e}_{ij})` (additive, :math:`d = 1`) or
    :math:`\mathbf{q}^{(r)}_i \odot \mathbf{k}^{(r)}_j \odot \mathbf{E}^\top \mathbf{W}_e \mathbf{e}_{ij}`
    (multiplicative; the edge term only with ``edge_dim``), one per head and query dimension. The softmax
    (``attention_mechanism``) runs over :math:`i`'s incoming edges of relation :math:`r` (within-relation) or over
    all of :math:`i`'s incoming edges (across-relation, the default). Then, per head :math:`h` and query
    dimension :math:`\delta`,

    .. math::
        \mathbf{x}'^{h,\delta}_i = \bigoplus_{(j, r) \to i} \alpha^{(r), h\delta}_{ij}\, \mathbf{g}^{(r), h}_j

    (:math:`\bigoplus` = ``aggr``, sum by default), heads concatenated (``concat``) or averaged, plus ``bias``.
    ``mod`` adds the cardinality-preserving terms of Zhang et al. (2019), with :math:`|\mathcal{N}(i)|` the
    in-degree of :math:`i` over all relations: ``"additive"`` adds :math:`\mathbf{w} \odot \bigoplus_j
    \mathbf{g}_j`, ``"scaled"`` multiplies by :math:`\psi(|\mathcal{N}(i)|)` (a two-layer MLP: ``l1``, ``b1``,
    ReLU, ``l2``, ``b2``), ``"f-additive"`` uses :math:`\alpha + 1` (where :math:`\alpha > 0`) and ``"f-scaled"``
    :math:`|\mathcal{N}(i)|\, \alpha`. Arguments, parameter names (``weight`` or ``basis``/``att``, ``q``, ``k``,
    ``e``, ``lin_edge``, ``w``, ``l1``, ``b1``, ``l2``, ``b2``, ``bias``) and outputs are PyG's ``RGATConv``, so
    its ``state_dict`` loads unchanged. Unlike PyG, ``reset_parameters`` initialises ``l2`` (to :math:`1/C`).

    How it runs: the edges touch ``P_s`` (source, relation) and ``P_t`` (target, relation) pairs
    (:func:`graphkit.ops.segment_matmul.relation_groups`); :math:`\mathbf{g}` is computed once per source pair and
    :math:`\mathbf{q}` once per target pair, each by one :func:`graphkit.ops.segment_matmul` over the pairs
    grouped by relation (the query through :math:`\mathbf{W}_r \mathbf{Q}`, ``[R, F_in, H d]``, so no ``H C``-wide
    target rows are formed). ``edge_updater`` forms the ``[E, H d]`` logits on the pair graph, ``edge_softmax``
    normalises them (over target pairs or target nodes), and the fused ``message_and_aggregate`` is one multi-head
    ``spmm`` from the source pairs to the targets. No ``[E, H C]`` tensor, no Python loop over relations.

    Args:
        in_channels: input width :math:`F_{in}` (or ``(F_in, F_in)``). out_channels: :math:`C`, per head.
        num_relations: :math:`R`; ``edge_type`` values lie in ``[0, R)``.
        num_bases, num_blocks: basis or block-diagonal decomposition of :math:`\mathbf{W}_r` (at most one).
        mod: ``None``, ``"additive"``, ``"scaled"``, ``"f-additive"`` or ``"f-scaled"``.
        attention_mechanism: ``"across-relation"`` or ``"within-relation"``.
        attention_mode: ``"additive-self-attention"`` or ``"multiplicative-self-attention"``.
        heads: :math:`H`. dim: :math:`d`, query/key dimensions per head (``> 1`` only when multiplicative).
        concat: concatenate the heads (else average them). negative_slope: LeakyReLU slope (additive).
        dropout: dropout on the attention weights while training (only with ``mod=None``, as PyG).
        edge_dim: width of ``edge_attr`` (``None``: no edge term). bias: learn an additive bias.
        aggr (keyword): ``"add"`` (default), ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``; ``mod`` ``"additive"``
            and ``"scaled"`` need ``"add"``/``"sum"``/``"mean"``.

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_in), (|V_t|, F_in))``; adj ``(2, |E|)``, a ``Graph`` or a SparseTensor;
        edge_type ``(|E|)`` int in ``[0, R)`` (optional for a ``Graph`` with an ``edge_type`` field, or a
        SparseTensor holding the types); edge_attr ``(|E|, D)`` -> ``(|V_t|, H d C)`` with ``concat``, else
        ``(|V_t|, d C)``; with ``return_attention_weights`` (any bool, as PyG) also ``(edge_index, alpha
        (|E|, H d))``.

    >>> import torch
    >>> conv = RGATConv(4, 3, num_relations=2, heads=2)
    >>> x, ei, et = torch.randn(5, 4), torch.tensor([[0, 1, 2, 3], [1, 2, 1, 1]]), torch.tensor([0, 1, 1, 0])
    >>> conv(x, ei, et).shape
    torch.Size([5, 6])
    >>> out, (_, alpha) = conv(x, ei, et, return_attention_weights=True)
    >>> torch.allclose(alpha[[0, 2, 3]].sum(0), torch.ones(2))  # node 1's three edges share its attention
    True
    >>> conv = RGATConv(4, 3, num_relations=2, attention_mechanism="within-relation",
    ...                 attention_mode="multiplicative-self-attention", dim=2, concat=False)
    >>> conv(x, ei, et).shape
    torch.Size([5, 6])
    """

    fused_adjacency = True

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, num_relations: int,
                 num_bases: Optional[int] = None, num_blocks: Optional[int] = None, mod: Optional[str] = None,
                 attention_mechanism: str = "across-relation", attention_mode: str = "additive-self-attention",
                 heads: int = 1, dim: int = 1, concat: bool = True, negative_slope: float = 0.2,
                 dropout: float = 0.0, edge_dim: Optional[int] = None, bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        if kwargs["aggr"] not in REDUCES:
            raise ValueError(f"aggr must be one of {REDUCES}, got {kwargs['aggr']!r}")
        super().__init__(**kwargs)
        if not isinstance(in_channels, int):
            if len(in_channels) != 2 or in_channels[0] != in_channels[1]:
                raise ValueError(f"in_channels must be an int (sources and targets share W_r), got {in_channels!r}")
            in_channels = int(in_channels[0])
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("num_relations", num_relations), ("heads", heads), ("dim", dim)):
            check_positive_int(name, v)
        if attention_mechanism not in MECHANISMS:
            raise ValueError(f"attention_mechanism must be one of {MECHANISMS}, got {attention_mechanism!r}")
        if attention_mode not in MODES:
            raise ValueError(f"attention_mode must be one of {MODES}, got {attention_mode!r}")
        if attention_mode == MODES[0] and dim > 1:
            raise ValueError(f"dim must be 1 with attention_mode='additive-self-attention', got {dim} "
                             "(use 'multiplicative-self-attention')")
        if mod not in MODS:
            raise ValueError(f"mod must be one of {MODS}, got {mod!r}")
        if mod in ("additive", "scaled") and kwargs["aggr"] in ("max", "min"):
            raise ValueError(f"mod={mod!r} needs aggr 'add', 'sum' or 'mean', got {kwargs['aggr']!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must lie in [0, 1], got {dropout}")
        if dropout > 0.0 and mod is not None:
            raise ValueError(f"dropout must be 0 with mod={mod!r} (PyG samples attention only with mod=None), "
                             f"got {dropout}")
        if num_bases is not None and num_blocks is not None:
            raise ValueError(f"set num_bases or num_blocks, not both (got {num_bases} and {num_blocks})")
        self.in_channels, self.out_channels, self.num_relations = in_channels, out_channels, num_relations
        self.num_bases, self.num_blocks, self.mod = num_bases, num_blocks, mod
        self.attention_mechanism, self.attention_mode = attention_mechanism, attention_mode
        self.heads, self.dim, self.concat = heads, dim, concat
        self.negative_slope, self.dropout, self.edge_dim = negative_slope, dropout, edge_dim
        hc, hd = heads * out_channels, heads * dim
        self.q = Parameter(torch.empty(hc, hd))
        self.k = Parameter(torch.empty(hc, hd))
        if bias:
            self.bias: Optional[Parameter] = Parameter(torch.empty(dim * out_channels * (heads if concat else 1)))
        else:
            self.register_parameter("bias", None)
        if edge_dim is not None:
            self.lin_edge: Optional[Linear] = Linear(edge_dim, hc, bias=False, weight_initializer="glorot")
            self.e: Optional[Parameter] = Parameter(torch.empty(hc, hd))
        else:
            self.lin_edge = None
            self.register_parameter("e", None)
        if num_bases is not None:
            if num_bases < 1:
                raise ValueError(f"num_bases must be positive, got {num_bases}")
            self.att: Optional[Parameter] = Parameter(torch.empty(num_relations, num_bases))
            self.basis: Optional[Parameter] = Parameter(torch.empty(num_bases, in_channels, hc))
            self.register_parameter("weight", None)
        else:
            if num_blocks is not None:
                if num_blocks < 1 or in_channels % num_blocks or hc % num_blocks:
                    raise ValueError(f"num_blocks must divide in_channels ({in_channels}) and heads * out_channels "
                                     f"({hc}), got {num_blocks}")
                shape: Tuple[int, ...] = (num_relations, num_blocks, in_channels // num_blocks, hc // num_blocks)
            else:
                shape = (num_relations, in_channels, hc)
            self.weight: Optional[Parameter] = Parameter(torch.empty(shape))
            self.register_parameter("att", None)
            self.register_parameter("basis", None)
        # The cardinality-preservation terms (PyG creates them whatever mod is, so its state_dict has them).
        self.w = Parameter(torch.empty(out_channels))
        self.l1 = Parameter(torch.empty(1, out_channels))
        self.b1 = Parameter(torch.empty(1, out_channels))
        self.l2 = Parameter(torch.empty(out_channels, out_channels))
        self.b2 = Parameter(torch.empty(1, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.weight)
        glorot(self.basis)
        glorot(self.att)
        glorot(self.q)
        glorot(self.k)
        glorot(self.e)
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        zeros(self.bias)
        zeros(self.b1)
        zeros(self.b2)
        with torch.no_grad():
            self.w.fill_(1.0)
            self.l1.fill_(1.0)
            self.l2.fill_(1.0 / self.out_channels)

    def relation_weight(self) -> Tensor:
        r""":math:`\mathbf{W}_r` for every relation: ``[R, F_in, H C]`` (``[R, nb, F_in/nb, H C/nb]`` with
        ``num_blocks``), composed from the bases when ``num_bases`` is set."""
        if self.basis is not None:
            return compose_bases(self.att, self.basis)
        return self.weight

    def forward(self, x: Union[Tensor, Tuple[Tensor, Tensor]], adj: Any, edge_type: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, size: Optional[Tuple[int, int]] = None,
                return_attention_weights: Optional[bool] = None) -> Any:
        x_src, x_dst = as_pair(x)
        for what, t in (("x", x_src), ("x_dst", x_dst)):
            if not isinstance(t, Tensor) or not t.is_floating_point() or t.dim() != 2:
                raise ValueError(f"{what} must be floating node features [N, {self.in_channels}], got "
                                 f"{getattr(t, 'dtype', type(t).__name__)} {list(getattr(t, 'shape', []))}")
        if edge_attr is None and self.edge_dim is not None and isinstance(adj, Graph) and "edge_attr" in adj:
            edge_attr = adj.edge_attr
        if edge_attr is not None:
            if self.lin_edge is None:
                raise ValueError("RGATConv got edge_attr but was built with edge_dim=None")
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
        A = self.adjacency(adj, size, x=(x_src, x_dst))
        types = read_edge_type(A, adj, edge_type, self.num_relations)
        R, H, C, D = self.num_relations, self.heads, self.out_channels, self.dim
        weight = self.relation_weight()
        # Every (source, relation) and (target, relation) pair is transformed once, grouped by relation.
        pair_s, src_node, ptr_s = relation_groups(A.src, A.num_src, types, R)
        pair_t, dst_node, ptr_t = relation_groups(A.dst, A.num_dst, types, R)
        g = relation_matmul(x_src.index_select(0, src_node), ptr_s, weight)  # [P_s, H C]
        if weight.dim() == 3:  # q = (x W_r) Q = x (W_r Q): [R, F_in, H d] weights, no [P_t, H C] rows
            q = segment_matmul(x_dst.index_select(0, dst_node), ptr_t, weight @ self.q)
        else:
            q = relation_matmul(x_dst.index_select(0, dst_node), ptr_t, weight) @ self.q
        num_ps, num_pt = src_node.numel(), dst_node.numel()
        pairs = Adjacency(torch.stack([pair_s, pair_t]), num_ps, num_pt)
        logits = self.edge_updater(pairs, q=q, k=g @ self.k, edge_attr=edge_attr)  # [E, H d]
        to_nodes = Adjacency(torch.stack([pair_s, A.dst]), num_ps, A.num_dst)
        # within-relation normalises over the (target, relation) pairs, across-relation over the targets
        alpha = (pairs if self.attention_mechanism == MECHANISMS[0] else to_nodes).edge_softmax(logits)
        del logits
        weights = alpha
        if self.mod == "f-additive":
            weights = torch.where(alpha > 0, alpha + 1, alpha)
        elif self.mod is None:
            weights = F.dropout(alpha, p=self.dropout, training=self.training)
        values = g.view(num_ps, H, 1, C)
        if D > 1:  # every query dimension weighs the same head's values: H d weighted copies
            values = values.expand(num_ps, H, D, C)
        out = self.propagate(to_nodes, x=values.reshape(num_ps, H * D, C), alpha=weights).view(-1, H, D, C)
        if self.mod is not None and self.mod != "f-additive":
            deg = torch.bincount(A.dst, minlength=A.num_dst).to(out.dtype).view(-1, 1)
            if self.mod == "additive":
                out = out + (self.w * self.propagate(to_nodes, x=g.view(num_ps, H, C), alpha=None)).unsqueeze(2)
            elif self.mod == "scaled":  # psi(deg_i) is the same for all of i's messages: scale after the reduce
                psi = F.relu(deg @ self.l1 + self.b1) @ self.l2 + self.b2
                out = out * psi.view(-1, 1, 1, C)
            else:  # f-scaled: deg_i >= 0 commutes with every reduce here
                out = out * deg.view(-1, 1, 1, 1)
        n = out.size(0)
        out = out.reshape(n, H * D * C) if self.concat else out.mean(dim=1).reshape(n, D * C)
        if self.bias is not None:
            out = out + self.bias
        if isinstance(return_attention_weights, bool):
            # imported here: graphkit.nn loads this layer eagerly, the attention package only on first use
            from graphkit.nn.attention.base import attention_weights

            return out, attention_weights(A, alpha, adj)
        return out

    def edge_update(self, q_i: Tensor, k_j: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        """``[E, H d]`` logits from the target pair's query and the source pair's key (and the edge term)."""
        edge = None
        if edge_attr is not None and self.lin_edge is not None:
            # E^T W_e e: fold the projection into one [D_e, H d] matrix, so no [E, H C] is formed.
            edge = edge_attr @ (self.lin_edge.weight.t() @ self.e)
        if self.attention_mode == MODES[0]:
            a = q_i + k_j if edge is None else q_i + k_j + edge
            return F.leaky_relu(a, self.negative_slope)
        return q_i * k_j if edge is None else q_i * k_j * edge

    def message_and_aggregate(self, adj: Adjacency, x: Tensor, alpha: Optional[Tensor]) -> Tensor:
        r""":math:`\bigoplus_j \alpha_{ij} \mathbf{g}_j` as one multi-head ``spmm`` on ``[E, H d]`` weights."""
        return adj.spmm(x, alpha, self.aggr_module.reduce)  # type: ignore[arg-type]

    def message(self, x_j: Tensor, alpha: Optional[Tensor]) -> Tensor:
        """The unfused twin of :meth:`message_and_aggregate` (``fuse=False``); forms ``[E, H d, C]``."""
        return x_j if alpha is None else x_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
