r"""HGTConv (Hu et al., "Heterogeneous Graph Transformer")."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter, ParameterDict

from graphkit.nn.conv.hetero_conv import hetero_inputs
from graphkit.nn.hetero_linear import HeteroDictLinear
from graphkit.nn.module_dict import EdgeType, NodeType, check_metadata
from graphkit.ops import edge_softmax, sddmm, segment_matmul, spmm
from graphkit.ops.adjacency import Adjacency

__all__ = ["HGTConv"]


class HGTConv(torch.nn.Module):
    r"""Heterogeneous graph transformer layer: attention with type-specific keys, queries, values and a
    relation-specific transform per edge type :math:`\phi = (s, r, t)` and head :math:`h`:

    .. math::
        \mathbf{k}_j = \mathbf{W}^{K}_{\tau(j)} \mathbf{x}_j, \quad
        \mathbf{q}_i = \mathbf{W}^{Q}_{\tau(i)} \mathbf{x}_i, \quad
        \alpha^h_{ij} = \mathrm{softmax}_{j \in \mathcal{N}(i)}\Big(
            \frac{\mu^h_{\phi}}{\sqrt{D}}\, \mathbf{q}^h_i \cdot \mathbf{k}^h_j \mathbf{W}^{ATT}_{\phi, h}\Big)

    .. math::
        \mathbf{h}_i = \big\Vert_h \sum_j \alpha^h_{ij}\, \mathbf{v}^h_j \mathbf{W}^{MSG}_{\phi, h}, \qquad
        \mathbf{x}'_i = \beta\, \mathbf{W}^{O}_{\tau(i)} \mathrm{GELU}(\mathbf{h}_i) + (1 - \beta)\, \mathbf{x}_i,
        \ \beta = \sigma(s_{\tau(i)})

    (the skip term only when :math:`F_{out}` equals the type's input width). The softmax runs over all incoming
    edges of every type at once. Parameters as PyG's ``HGTConv`` (``kqv_lin``, ``out_lin``, ``k_rel``,
    ``v_rel`` ``[H R, D, D]``, ``skip``, ``p_rel``), so its ``state_dict`` loads unchanged.

    How it runs: the relation transforms of all edge types and heads are one :func:`graphkit.ops.segment_matmul`
    over the source rows of each (head, edge type); attention is one ``sddmm``, one ``edge_softmax`` and one
    weighted ``spmm`` over all edge types together (no ``[E, H, D]`` message tensor).

    Args:
        in_channels: input width, or ``{node type: width}``. out_channels: :math:`F`, divisible by ``heads``.
        metadata: ``(node_types, edge_types)``. heads: :math:`H` (:math:`D = F / H`).

    Shapes:
        x_dict ``{t: (N_t, F_t)}``, edge_index_dict ``{(s, r, t): (2, E_srt)}`` (or one graph with ``x_dict`` and
        ``edge_index_dict``) -> ``{t: (N_t, F)}`` for every destination type of ``metadata``.

    >>> meta = (["author", "paper"], [("author", "writes", "paper"), ("paper", "rev_writes", "author")])
    >>> conv = HGTConv({"author": 3, "paper": 5}, 4, meta, heads=2)
    >>> x = {"author": torch.randn(3, 3), "paper": torch.randn(2, 5)}
    >>> ei = {meta[1][0]: torch.tensor([[0, 2], [1, 1]]), meta[1][1]: torch.tensor([[1], [0]])}
    >>> {k: tuple(v.shape) for k, v in conv(x, ei).items()}
    {'author': (3, 4), 'paper': (2, 4)}
    """

    def __init__(self, in_channels: Union[int, Mapping[str, int]], out_channels: int,
                 metadata: Tuple[List[NodeType], List[EdgeType]], heads: int = 1, **kwargs: Any) -> None:
        super().__init__()
        if heads < 1 or out_channels % heads:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by heads, got heads={heads}")
        self.node_types, self.edge_types = check_metadata(metadata)
        if not isinstance(in_channels, Mapping):
            in_channels = {t: in_channels for t in self.node_types}
        self.in_channels, self.out_channels, self.heads = dict(in_channels), out_channels, heads
        self.edge_index_of = {e: i for i, e in enumerate(self.edge_types)}
        self.dst_types = {e[2] for e in self.edge_types}
        self.kqv_lin = HeteroDictLinear(self.in_channels, 3 * out_channels)
        self.out_lin = HeteroDictLinear(out_channels, out_channels, types=self.node_types)
        d = out_channels // heads
        self.k_rel = _RelationWeights(heads * len(self.edge_types), d)
        self.v_rel = _RelationWeights(heads * len(self.edge_types), d)
        self.skip = ParameterDict({t: Parameter(torch.empty(1)) for t in self.node_types})
        self.p_rel = ParameterDict({"__".join(e): Parameter(torch.empty(1, heads)) for e in self.edge_types})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.kqv_lin.reset_parameters()
        self.out_lin.reset_parameters()
        self.k_rel.reset_parameters()
        self.v_rel.reset_parameters()
        for p in list(self.skip.values()) + list(self.p_rel.values()):
            torch.nn.init.ones_(p)

    def _relation_transform(self, rel: "_RelationWeights", per_type: Dict[str, Tensor],
                            edge_types: List[EdgeType]) -> Tensor:
        """Rows ``[sum_e N_src(e), H, D]``: each edge type's source rows through its per-head weight, all in one
        segment matmul (segments ordered head-major, then edge type)."""
        h = self.heads
        parts = [per_type[e[0]][:, i] for i in range(h) for e in edge_types]
        sizes = torch.tensor([p.size(0) for p in parts])
        ptr = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)])
        which = torch.tensor([i * len(self.edge_types) + self.edge_index_of[e] for i in range(h) for e in edge_types])
        out = segment_matmul(torch.cat(parts), ptr, rel.weight[which])
        return out.view(h, -1, out.size(-1)).transpose(0, 1)

    def forward(self, *args: Any) -> Dict[NodeType, Tensor]:
        x_dict, edge_index_dict = hetero_inputs(args)[:2]
        for e in edge_index_dict:
            if e not in self.edge_index_of:
                raise ValueError(f"edge type {e} is not in HGTConv's metadata {self.edge_types}")
            for t in (e[0], e[2]):
                if t not in x_dict:
                    raise ValueError(f"x_dict has no features for node type {t!r}, which edge type {e} needs")
        h, f = self.heads, self.out_channels
        d = f // h
        kqv = self.kqv_lin(x_dict)
        k, q, v = {}, {}, {}
        for t, val in kqv.items():
            k[t], q[t], v[t] = (part.reshape(-1, h, d) for part in torch.tensor_split(val, 3, dim=1))
        dst_offset, o = {}, 0
        for t in q:
            dst_offset[t], o = o, o + q[t].size(0)
        num_dst = o
        edge_types = list(edge_index_dict)
        src_offset, o = {}, 0
        for e in edge_types:
            src_offset[e], o = o, o + k[e[0]].size(0)
        num_src = o
        out_all = q[next(iter(q))].new_zeros(num_dst, h, d) if not edge_types else None
        if edge_types:
            k_rel = self._relation_transform(self.k_rel, k, edge_types)
            v_rel = self._relation_transform(self.v_rel, v, edge_types)
            src = torch.cat([edge_index_dict[e][0] + src_offset[e] for e in edge_types])
            dst = torch.cat([edge_index_dict[e][1] + dst_offset[e[2]] for e in edge_types])
            prior = torch.cat([self.p_rel["__".join(e)].expand(edge_index_dict[e].size(1), h) for e in edge_types])
            adj = Adjacency.of(torch.stack([src, dst]), num_src, num_dst)
            scores = sddmm(adj, torch.cat(list(q.values())), k_rel) * prior / math.sqrt(d)
            out_all = spmm(adj, v_rel, edge_softmax(adj, scores))
        out_all = out_all.reshape(num_dst, f)
        outs = {t: torch.nn.functional.gelu(out_all[dst_offset[t]:dst_offset[t] + q[t].size(0)])
                for t in q if t in self.dst_types}
        result = {}
        for t, a in self.out_lin(outs).items():
            if a.size(-1) == x_dict[t].size(-1):
                beta = self.skip[t].sigmoid()
                a = beta * a + (1 - beta) * x_dict[t]
            result[t] = a
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}(-1, {self.out_channels}, heads={self.heads})"


class _RelationWeights(torch.nn.Module):
    """``weight [T, D, D]``: one square transform per (head, edge type) (PyG's ``HeteroLinear`` state name)."""

    def __init__(self, num_types: int, dim: int) -> None:
        super().__init__()
        self.weight = Parameter(torch.empty(num_types, dim, dim))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.size(1))
        torch.nn.init.uniform_(self.weight, -bound, bound)
