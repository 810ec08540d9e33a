r"""``AttentionConv``: the message-passing base of GATConv, GATv2Conv and TransformerConv.

Every multi-head attention layer runs the same three steps on :class:`~graphkit.nn.message_passing.MessagePassing`:

1. ``edge_updater`` -> the layer's ``edge_update``: per-edge logits ``[E, H]`` (an ``sddmm`` or a chunked edge
   function, never ``[E, H, F]``);
2. ``edge_softmax`` over each target's incoming edges, then dropout on the ``[E, H]`` weights;
3. ``propagate`` -> the fused ``message_and_aggregate``: one multi-head ``spmm`` of ``[N, H, F]`` features with
   the ``[E, H]`` weights. (``layer.fuse = False`` runs ``message`` instead, which does form ``[E, H, F]``:
   it exists to check the fused path, as for every other layer.)

What the three layers share lives here once: the checked constructor arguments (``heads``, ``concat``,
``dropout``, ``edge_dim``, ``flow``), reading the structure and the edge features (an explicit ``edge_attr``
without ``edge_dim`` is an error in all three; when ``edge_dim`` is set, a ``Graph``'s own ``edge_attr`` or a
sparse matrix's stored values are read, the latter also with GAT's self-loops, which PyG refuses there),
``size``, PyG's self-loop rule (cached per graph), merging heads (also for a graph with no nodes), the residual
and bias terms, and ``return_attention_weights``.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from graphkit.nn.adjacency import Adjacency, is_sparse_adj
from graphkit.nn.attention._common import FillValue, graph_edge_attr, split_pair, with_self_loops
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["AttentionConv", "attention_weights", "Pair", "AttentionOutput"]

Pair = Union[Tensor, Tuple[Tensor, Optional[Tensor]]]
AttentionOutput = Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]


def attention_weights(A: Adjacency, alpha: Tensor, adj: Any = None) -> Any:
    """What ``return_attention_weights=True`` returns next to the output, in PyG's format: ``(edge_index,
    alpha)``; for a ``torch.sparse`` input ``(adj_t with the weights as values, alpha)``, in the input's layout
    (COO, CSR or CSC) and with ``alpha`` in that matrix's value order (row-major, as PyG); for a ``SparseTensor``
    input that ``SparseTensor`` with the weights as values. Added self-loops are included."""
    if not is_sparse_adj(adj):
        return A.edge_index, alpha
    if isinstance(adj, Tensor):
        # The value order of the input's layout: row-major over adj_t [targets, sources] (COO, CSR), column-major
        # for CSC. A keeps the input's edges row-major but appends added self-loops, so sort (stably).
        by_col = adj.layout == torch.sparse_csc
        major, minor, n_major = (A.src, A.dst, A.num_src) if by_col else (A.dst, A.src, A.num_dst)
        perm = torch.sort(major.long() * max(A.num_src, A.num_dst, 1) + minor.long(), stable=True)[1]
        alpha = alpha.index_select(0, perm)
        major, minor = major.index_select(0, perm), minor.index_select(0, perm)
        size = (A.num_dst, A.num_src) + tuple(alpha.shape[1:])
        if adj.layout == torch.sparse_coo:
            weighted = torch.sparse_coo_tensor(torch.stack([major, minor]), alpha, size, is_coalesced=True)
        else:
            ptr = torch.zeros(n_major + 1, dtype=torch.long, device=alpha.device)
            ptr[1:] = torch.cumsum(torch.bincount(major.long(), minlength=n_major), 0)
            build = torch.sparse_csc_tensor if by_col else torch.sparse_csr_tensor
            weighted = build(ptr, minor.long(), alpha, size)
        return weighted, alpha
    rows_cols = torch.stack([A.dst, A.src])  # adj_t is [targets, sources]
    return type(adj)(row=rows_cols[0], col=rows_cols[1], value=alpha, sparse_sizes=(A.num_dst, A.num_src))


class AttentionConv(MessagePassing):
    """Base class; see the module docstring. Subclasses write ``edge_update`` and ``forward``.

    Args:
        in_channels: input size, or ``(src, dst)`` sizes. out_channels: features per head ``F``.
        heads: ``H``. concat: concatenate (``H*F`` outputs) or average the heads.
        dropout: dropout on the attention weights (training only). edge_dim: edge-feature size (``None``: none).
        flow: message direction, as for every ``MessagePassing``.

    Shapes:
        - x: ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``; adj: ``(2, |E|)``, a ``Graph`` or a sparse matrix
        - output: ``(|V_t|, H * F)`` if ``concat`` else ``(|V_t|, F)``
    """

    fused_adjacency = True

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, heads: int, concat: bool,
                 dropout: float, edge_dim: Optional[int], flow: str = "source_to_target") -> None:
        super().__init__(aggr="sum", flow=flow)
        if heads < 1 or out_channels < 1:
            raise ValueError(f"heads and out_channels must be positive, got heads={heads}, out_channels={out_channels}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must lie in [0, 1], got {dropout}")
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.dropout, self.edge_dim = dropout, edge_dim

    @property
    def out_total(self) -> int:
        """Output features: ``H * F`` with ``concat``, else ``F``."""
        return self.out_channels * (self.heads if self.concat else 1)

    def _residual_and_bias(self, residual: bool, dst_in: int, bias: bool) -> None:
        """The ``res`` projection of the target's input and the output ``bias`` (GAT, GATv2; PyG's names)."""
        if residual:
            self.res: Optional[Linear] = Linear(dst_in, self.out_total, bias=False, weight_initializer="glorot")
        else:
            self.register_parameter("res", None)
        if bias:
            self.bias: Optional[Parameter] = Parameter(torch.empty(self.out_total))
        else:
            self.register_parameter("bias", None)

    # ------------------------------------------------------------------ forward pieces
    def structure(self, x_src: Tensor, x_dst: Optional[Tensor], adj: Any, edge_attr: Optional[Tensor],
                  size: Optional[Tuple[int, int]], self_loops: bool = False, fill_value: FillValue = "mean",
                  ) -> Tuple[Adjacency, Optional[Tensor]]:
        """Resolve ``adj`` (sized by the features or ``size``) and the edge features; with ``self_loops``,
        apply PyG's rule (drop every loop, add one per node ``< min(num_src, num_dst)``)."""
        if edge_attr is not None and self.edge_dim is None:
            raise ValueError(f"{type(self).__name__} got edge_attr but was built with edge_dim=None")
        feats = (x_src, x_dst) if x_dst is not None else x_src
        A = self.adjacency(adj, size, x=feats)
        if self.edge_dim is not None:
            edge_attr = graph_edge_attr(adj, edge_attr)
            if edge_attr is None and is_sparse_adj(adj):
                # PyG reads the edge features from a sparse matrix's stored values, in the order A keeps them.
                edge_attr = A.value
            if edge_attr is not None:
                edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
        if self_loops:
            A, edge_attr = with_self_loops(A, edge_attr, min(A.num_src, A.num_dst), fill_value)
        return A, edge_attr

    def attend(self, A: Adjacency, logits: Tensor, values: Tensor, **kwargs: Any) -> Tuple[Tensor, Tensor, Tensor]:
        """``edge_softmax`` -> dropout -> aggregate (``kwargs`` go to ``propagate``): ``(out [N_dst, H, F],
        alpha [E, H], weights [E, H])``, ``weights`` being ``alpha`` after dropout (GAT and GATv2 report the
        weights, TransformerConv reports alpha, each as PyG does)."""
        alpha = A.edge_softmax(logits)
        # Drop the [E, H] logits now (callers pass them inline): softmax keeps its output, not its input, and
        # holding them through the aggregation raised the measured peak by one [E, H] buffer.
        del logits
        weights = F.dropout(alpha, p=self.dropout, training=self.training)
        return self.propagate(A, x=values, alpha=weights, **kwargs), alpha, weights

    def message_and_aggregate(self, adj: Adjacency, x: Tensor, alpha: Tensor) -> Tensor:
        r""":math:`\sum_j \alpha_{ij}^h x_j^h` as one multi-head ``spmm`` on ``[E, H]`` weights."""
        return adj.spmm(x, alpha)

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        """The unfused twin of :meth:`message_and_aggregate` (``fuse=False``); forms ``[E, H, F]``."""
        return x_j * alpha.unsqueeze(-1)

    def finish(self, out: Tensor, A: Adjacency, alpha: Tensor, res: Optional[Tensor],
               return_attention_weights: Optional[bool], adj: Any = None) -> AttentionOutput:
        """Merge heads, add the residual and the bias, and return the weights if asked (PyG's format)."""
        out = self.merge_heads(out)
        if res is not None:
            out = out + res
        bias = getattr(self, "bias", None)
        if isinstance(bias, Tensor):
            out = out + bias
        if return_attention_weights:
            return out, attention_weights(A, alpha, adj)
        return out

    def merge_heads(self, out: Tensor) -> Tensor:
        """``[N, H, F]`` -> ``[N, H*F]`` (concat) or ``[N, F]`` (mean over heads); sizes are explicit so a graph
        with no nodes works."""
        return out.reshape(out.size(0), self.heads * self.out_channels) if self.concat else out.mean(dim=1)

    @staticmethod
    def split(x: Pair) -> Tuple[Tensor, Optional[Tensor]]:
        """``x`` or ``(x_src, x_dst)``, checked to be 2-D."""
        return split_pair(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
