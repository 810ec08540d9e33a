r"""HGTConv (Hu et al., "Heterogeneous Graph Transformer")."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

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

    How it runs: the keys and values of all node types sit in one ``[N, 2F]`` tensor and the queries in one
    ``[N, F]`` (two typed products); each edge type's relation transform reads its source type's rows of the keys
    and values in place (a type's nodes are one block of rows) and writes them, head by head, straight into the
    ``[sum_e N_src(e), H, D]`` key and value rows that attention reads (the prior :math:`\mu / \sqrt{D}` folded
    into the key weights): no gathered copy of the source rows and no re-layout of the results, which at
    ogbn-mag's size are 5 GB each. Attention is one ``sddmm``, one ``edge_softmax`` and one weighted ``spmm`` over
    ``[E, H]`` for all edge types together (no ``[E, H, D]`` message tensor). The combined graph (ids offset by
    type, edges grouped by target) is built once per set of ``edge_index`` tensors and memoised with them, as
    every structure in graphkit is.

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

    def _relation_rows(self, kv: Tensor, cols: Tuple[int, int], st: "_Structure", edge_types: List[EdgeType]
                       ) -> Tuple[Tensor, Tensor]:
        r"""``(k_rel, v_rel)``, rows ``[sum_e N_src(e), H, D]``: each edge type's source keys and values (column
        blocks ``cols`` of ``kv``, ``F`` wide each) through its per-head weights (:class:`_RelationTransform`). The
        key weights carry the prior :math:`\mu_\phi^h / \sqrt{D}` (a product the size of the weights instead of
        one over ``[E, H]``)."""
        h, d = self.heads, self.out_channels // self.heads
        which = torch.tensor([self.edge_index_of[e] for e in edge_types], device=kv.device)
        # [H |E_meta|, D, D] head-major -> [|E|, H, D, D] for the edge types present, in their order
        k_w = self.k_rel.weight.view(h, -1, d, d).index_select(1, which).transpose(0, 1)
        v_w = self.v_rel.weight.view(h, -1, d, d).index_select(1, which).transpose(0, 1)
        prior = torch.stack([self.p_rel["__".join(e)].view(h) for e in edge_types]).view(-1, h, 1, 1)
        return _RelationTransform.apply(kv, k_w * (prior / math.sqrt(d)), v_w, st.src_ranges, cols)

    @staticmethod
    def _typed_linear(lin: HeteroDictLinear, x_all: Tensor, sizes: Dict[str, int], row_type: Tensor,
                      outputs: Optional[Tensor] = None) -> Tensor:
        """``HeteroDictLinear`` on the rows of all types at once (grouped by type, in ``sizes``' order; ``row_type``
        is each row's type index): one segment matmul and one bias gather instead of one ``addmm`` (and its
        backward) per type. ``outputs``: only these output columns (rows of the weights)."""
        lins = [lin.lins[t] for t in sizes]
        counts = torch.tensor(list(sizes.values()), device=x_all.device)
        ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        weight = torch.stack([m.weight for m in lins])  # [T, F_out, F_in]
        weight = weight if outputs is None else weight.index_select(1, outputs)
        out = segment_matmul(x_all, ptr, weight.transpose(1, 2))
        if lins[0].bias is not None:
            bias = torch.stack([m.bias for m in lins])
            bias = bias if outputs is None else bias.index_select(1, outputs)
            out += bias.index_select(0, row_type)  # in place: nothing saved the product (one [N, F_out] less)
        return out

    def _structure(self, sizes: Dict[str, int], edge_index_dict: Mapping[EdgeType, Tensor],
                   edge_types: List[EdgeType]) -> "_Structure":
        """All edge types as one graph from the (edge type, source) rows to the targets (ids offset by type),
        built once per set of ``edge_index`` tensors and node counts: memoised with the first edge type's
        structure, keyed by every edge type's memo token (a changed ``edge_index`` gets a new one)."""
        adjs = [Adjacency.of(edge_index_dict[e], sizes[e[0]], sizes[e[2]], src_bound=f"the number of {e[0]!r} nodes",
                             dst_bound=f"the number of {e[2]!r} nodes") for e in edge_types]
        key = ("hgt_structure", tuple(edge_types), tuple(a.derived("token", object) for a in adjs),
               tuple(sizes.items()))
        return adjs[0].derived(key, lambda: _Structure(sizes, [a.edge_index for a in adjs], edge_types))

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
        sizes = {t: x.size(0) for t, x in x_dict.items()}
        # One width everywhere (the common case): the per-type linears become segment matmuls over all nodes.
        uniform = len({x.size(-1) for x in x_dict.values()}) == 1 and all(t in self.out_lin.lins for t in sizes)
        x_all = torch.cat(list(x_dict.values())) if uniform else None
        if x_all is not None:
            row_type = torch.repeat_interleave(torch.arange(len(sizes), device=x_all.device),
                                               torch.tensor(list(sizes.values()), device=x_all.device))
            # Queries [N, F] and keys|values [N, 2F] as two products (PyG's kqv weight rows are k, q, v): the
            # attention reads q as it is and the relation transform kv, with no [N, 3F] tensor or copy of q kept.
            cols = torch.arange(3 * f, device=x_all.device)
            q = self._typed_linear(self.kqv_lin, x_all, sizes, row_type, cols[f:2 * f])
            kv, kv_cols = self._typed_linear(self.kqv_lin, x_all, sizes, row_type,
                                             torch.cat([cols[:f], cols[2 * f:]])), (0, 1)
        else:
            kqv = self.kqv_lin(x_dict)
            kv, kv_cols = torch.cat([kqv[t] for t in sizes]), (0, 2)  # [N, 3F], node types in x_dict's order
            q = kv[:, f:2 * f]
        edge_types = sorted(edge_index_dict, key=self.edge_index_of.__getitem__)  # metadata order
        st = _Structure(sizes, [], []) if not edge_types else self._structure(sizes, edge_index_dict, edge_types)
        if edge_types:
            k_rel, v_rel = self._relation_rows(kv, kv_cols, st, edge_types)
            del kv  # the relation transform keeps what its backward needs
            # the prior and 1/sqrt(D) are in k_rel
            out_all = spmm(st.adj, v_rel, edge_softmax(st.adj, sddmm(st.adj, q.reshape(-1, h, d), k_rel))).view(-1, f)
            del q, k_rel, v_rel
        else:
            out_all = q.new_zeros(st.num_dst, f)
        out_all = torch.nn.functional.gelu(out_all)
        if x_all is not None and x_all.size(-1) == f:  # every type has the skip connection: all rows at once
            beta = torch.stack([self.skip[t] for t in sizes]).sigmoid()  # [T, 1]
            rows = torch.lerp(x_all, self._typed_linear(self.out_lin, out_all, sizes, row_type),
                              beta.index_select(0, row_type))
            return {t: r for t, r in zip(sizes, rows.split(list(sizes.values()))) if t in self.dst_types}
        outs = {t: out_all[st.dst_offset[t]:st.dst_offset[t] + n] for t, n in sizes.items() if t in self.dst_types}
        result = {}
        for t, a in self.out_lin(outs).items():
            if a.size(-1) == x_dict[t].size(-1):
                a = torch.lerp(x_dict[t], a, self.skip[t].sigmoid())  # beta a + (1 - beta) x in one op
            result[t] = a
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}(-1, {self.out_channels}, heads={self.heads})"


class _Structure:
    """The edges of all edge types as one ``Adjacency`` from the (edge type, source) rows of ``k_rel``/``v_rel``
    (edge type ``e`` owns the next ``n`` rows, its ``src_ranges`` entry being ``(start, n)``) to the targets
    (type ``t`` owns ``dst_offset[t] ..``), its edges grouped by target so that the kernels read per-edge scores in
    place (no edge permutation). ``src_ranges`` gives each edge type's source nodes as ``(first global id, count)``:
    its rows are those nodes in order."""

    def __init__(self, sizes: Dict[str, int], edge_indices: List[Tensor], edge_types: List[EdgeType]) -> None:
        self.dst_offset, o = {}, 0
        for t, n in sizes.items():
            self.dst_offset[t], o = o, o + n
        self.num_dst = o
        self.src_ranges = [(self.dst_offset[e[0]], sizes[e[0]]) for e in edge_types]
        if not edge_types:
            return
        src_offset, o = [], 0
        for _, n in self.src_ranges:
            src_offset, o = src_offset + [o], o + n
        src = torch.cat([ei[0] + off for ei, off in zip(edge_indices, src_offset)])
        dst = torch.cat([ei[1] + self.dst_offset[e[2]] for ei, e in zip(edge_indices, edge_types)])
        order = torch.sort(dst, stable=True).indices
        self.adj = Adjacency(torch.stack([src[order], dst[order]]), o, self.num_dst)
        self.adj.csr()


class _RelationWeights(torch.nn.Module):
    """``weight [T, D, D]``: one square transform per (head, edge type) (PyG's ``HeteroLinear`` state name)."""

    def __init__(self, num_types: int, dim: int) -> None:
        super().__init__()
        self.weight = Parameter(torch.empty(num_types, dim, dim))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.size(1))
        torch.nn.init.uniform_(self.weight, -bound, bound)


class _RelationTransform(torch.autograd.Function):
    """Per edge type ``e`` with source nodes ``start .. start + n - 1`` (global ids, ``ranges[e] = (start, n)``) and
    head ``h``: rows ``o_e .. o_e + n - 1`` of ``k_rel[:, h]`` are ``k_s[h] @ k_w[e, h]`` for those nodes' keys
    ``k_s`` (column block ``cols[0]`` of ``kv``, ``F`` wide), and of ``v_rel[:, h]`` likewise with the values
    (block ``cols[1]``); ``o_e`` is the sum of the earlier edge types' ``n``.

    Each product is one ``bmm`` over the heads that reads the strided rows of ``kv`` in place and is copied into the
    strided head slots of its output block, so neither the gathered inputs nor head-major outputs exist as whole
    tensors (at most one edge type's ``[H, n, D]`` at a time). Backward: the same products with the transposed
    weights, accumulated into ``kv``'s key and value blocks, and one ``bmm`` per edge type for the weights."""

    @staticmethod
    def forward(ctx: Any, kv: Tensor, k_w: Tensor, v_w: Tensor,  # type: ignore[override]
                ranges: List[Tuple[int, int]], cols: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        h, d = k_w.size(1), k_w.size(2)
        x = kv.view(kv.size(0), -1, h, d)
        rows = sum(n for _, n in ranges)
        k_rel, v_rel = kv.new_empty(rows, h, d), kv.new_empty(rows, h, d)
        o = 0
        for i, (start, n) in enumerate(ranges):
            for col, out, w in ((cols[0], k_rel, k_w), (cols[1], v_rel, v_w)):
                src = x[start:start + n, col].transpose(0, 1)  # [H, n, D], rows of kv in place
                out[o:o + n].transpose(0, 1).copy_(torch.bmm(src, w[i]))
            o += n
        ctx.ranges, ctx.cols = ranges, cols
        ctx.save_for_backward(kv, k_w, v_w)
        return k_rel, v_rel

    @staticmethod
    def backward(ctx: Any, g_k: Tensor, g_v: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        kv, k_w, v_w = ctx.saved_tensors
        h, d = k_w.size(1), k_w.size(2)
        x = kv.view(kv.size(0), -1, h, d)
        need_x, need_kw, need_vw = ctx.needs_input_grad[:3]
        g_x = torch.zeros_like(kv) if need_x else None
        gx = g_x.view(kv.size(0), -1, h, d) if g_x is not None else None
        g_kw = torch.zeros_like(k_w) if need_kw else None
        g_vw = torch.zeros_like(v_w) if need_vw else None
        o = 0
        for i, (start, n) in enumerate(ctx.ranges):
            for col, grad, w, g_w in ((ctx.cols[0], g_k, k_w, g_kw), (ctx.cols[1], g_v, v_w, g_vw)):
                if grad is None:
                    continue
                g = grad[o:o + n].transpose(0, 1)  # [H, n, D]
                if gx is not None:  # several edge types may share a source type: accumulate
                    gx[start:start + n, col].transpose(0, 1).add_(torch.bmm(g, w[i].transpose(1, 2)))
                if g_w is not None:
                    g_w[i] = torch.bmm(x[start:start + n, col].permute(1, 2, 0), g)
            o += n
        return g_x, g_kw, g_vw, None, None
