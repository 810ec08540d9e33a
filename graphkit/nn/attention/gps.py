r"""GraphGPS layer ("Recipe for a General, Powerful, Scalable Graph Transformer", Rampášek et al. 2022)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Dropout, Linear, Sequential

from graphkit.batch import Batch
from graphkit.nn.attention.performer import PerformerAttention
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.normalization.resolver import activation_resolver, normalization_resolver

__all__ = ["GPSConv", "LinearAttention", "to_padded", "global_attention"]


def to_padded(x: Tensor, batch: Tensor, num_graphs: Optional[int] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Nodes ``[N, C]`` grouped by graph -> ``(dense [B, maxN, C], mask [B, maxN], pos [N])`` (zero padded)."""
    if batch.numel() and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (nodes of one graph contiguous), as in a graphkit.Batch")
    b = num_graphs if num_graphs is not None else (int(batch.max()) + 1 if batch.numel() else 0)
    counts = torch.bincount(batch, minlength=b)
    ptr = torch.zeros(b + 1, dtype=torch.long, device=x.device)
    torch.cumsum(counts, 0, out=ptr[1:])
    pos = torch.arange(x.size(0), device=x.device) - ptr[batch]
    max_n = int(counts.max()) if b else 0
    dense = x.new_zeros(b, max_n, x.size(1))
    dense[batch, pos] = x
    mask = torch.zeros(b, max_n, dtype=torch.bool, device=x.device)
    mask[batch, pos] = True
    return dense, mask, pos


def global_attention(
    x: Tensor, batch: Tensor, attn: torch.nn.MultiheadAttention, training: bool, num_graphs: Optional[int] = None
) -> Tensor:
    r"""Full attention inside each graph with ``attn``'s weights, via ``scaled_dot_product_attention``.

    Graphs are padded to ``[B, maxN, C]`` and padded keys masked by a ``[B, 1, 1, maxN]`` boolean mask, so no
    ``N x N`` matrix over the whole batch (nor a ``[B, maxN, maxN]`` mask) is built; the attention itself is at
    most ``[B, heads, maxN, maxN]`` (SDPA's fused kernels avoid even that where the device has them).
    """
    dense, mask, _ = to_padded(x, batch, num_graphs)
    b, n, c = dense.shape
    heads = attn.num_heads
    q, k, v = F.linear(dense, attn.in_proj_weight, attn.in_proj_bias).view(b, n, 3, heads, c // heads).unbind(2)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
        attn_mask=mask[:, None, None, :], dropout_p=attn.dropout if training else 0.0,
    )
    out = attn.out_proj(out.transpose(1, 2).reshape(b, n, c))
    return out[mask]


class LinearAttention(torch.nn.Module):
    r"""Kernelised linear attention inside each graph (Katharopoulos et al. 2020), :math:`O(N)` per graph.

    .. math:: o_i = \frac{\phi(q_i)^\top \sum_{j \in g(i)} \phi(k_j) v_j^\top}{\phi(q_i)^\top \sum_{j \in g(i)}
              \phi(k_j)}, \qquad \phi = \mathrm{elu} + 1

    per head; the per-graph sums are ``[B, heads, d_h, d_h]``, so nothing grows with the square of graph size.

    Shapes: x ``(N, C)``, batch ``(N,)`` -> ``(N, C)``.
    """

    def __init__(self, channels: int, heads: int = 1) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ValueError(f"channels must be divisible by heads, got channels={channels}, heads={heads}")
        self.heads = heads
        self.in_proj = Linear(channels, 3 * channels)
        self.out_proj = Linear(channels, channels)

    def _reset_parameters(self) -> None:
        self.in_proj.reset_parameters()
        self.out_proj.reset_parameters()

    def forward(self, x: Tensor, batch: Tensor, num_graphs: Optional[int] = None) -> Tensor:
        n, c = x.shape
        b = num_graphs if num_graphs is not None else (int(batch.max()) + 1 if batch.numel() else 0)
        q, k, v = self.in_proj(x).view(n, 3, self.heads, c // self.heads).unbind(1)
        q, k = F.elu(q) + 1, F.elu(k) + 1
        kv = x.new_zeros(b, self.heads, c // self.heads, c // self.heads).index_add_(
            0, batch, k.unsqueeze(-1) * v.unsqueeze(-2)
        )
        ksum = x.new_zeros(b, self.heads, c // self.heads).index_add_(0, batch, k)
        num = torch.einsum("nhd,nhde->nhe", q, kv.index_select(0, batch))
        den = (q * ksum.index_select(0, batch)).sum(-1, keepdim=True)
        return self.out_proj((num / den).reshape(n, c))


class GPSConv(MessagePassing):
    r"""One GPS layer: a local message-passing layer and global attention in parallel, then an MLP.

    .. math::
        h_L &= \mathrm{Norm}_1(x + \mathrm{Dropout}(\mathrm{MPNN}(x, A))) \\
        h_G &= \mathrm{Norm}_2(x + \mathrm{Dropout}(\mathrm{Attn}_{\text{per graph}}(x))) \\
        y &= \mathrm{Norm}_3\big(h + \mathrm{MLP}(h)\big), \quad h = h_L + h_G

    Constructor and state_dict match ``torch_geometric.nn.GPSConv``. ``attn_type="multihead"`` uses the
    weights of a ``torch.nn.MultiheadAttention`` (``attn``) but runs ``scaled_dot_product_attention`` on padded
    per-graph blocks (see :func:`global_attention`); ``"performer"`` is PyG's random-feature attention
    (:class:`~graphkit.nn.attention.performer.PerformerAttention`, same keys and output); ``"linear"``
    (graphkit's own) uses :class:`LinearAttention` on the batch without padding. ``norm`` is ``"batch_norm"``,
    ``"layer_norm"`` (per graph) or ``None``.

    Like PyG's, the layer is a wrapper: its message passing is ``conv``'s (any ``MessagePassing`` layer, run on
    ``adj`` as given) and the global part is attention inside each graph, which has no edges to pass messages
    over. It subclasses ``MessagePassing`` so that it takes ``edge_index=`` and every structure type like any
    other layer.

    Args:
        channels: ``C``. conv: the local layer, called as ``conv(x, adj, **kwargs)`` (``None``: attention only).
        heads: attention heads. dropout: dropout after each block and in the MLP. act: MLP activation name.
        act_kwargs, norm, norm_kwargs, attn_type, attn_kwargs: as in PyG (``attn_kwargs`` go to
        ``torch.nn.MultiheadAttention``, e.g. ``{"dropout": 0.1}``).

    Shapes:
        - x: ``(|V|, C)``; adj: ``(2, |E|)`` or a ``Graph``/``Batch``; batch: ``(|V|,)`` (taken from a ``Batch``
          when omitted; all nodes form one graph when neither is given)
        - output: ``(|V|, C)``

    >>> layer = GPSConv(8, conv=None, heads=2)
    >>> layer(torch.randn(5, 8), torch.tensor([[0, 1], [1, 2]]), batch=torch.tensor([0, 0, 0, 1, 1])).shape
    torch.Size([5, 8])
    """

    def __init__(
        self,
        channels: int,
        conv: Optional[torch.nn.Module],
        heads: int = 1,
        dropout: float = 0.0,
        act: str = "relu",
        act_kwargs: Optional[Dict[str, Any]] = None,
        norm: Optional[str] = "batch_norm",
        norm_kwargs: Optional[Dict[str, Any]] = None,
        attn_type: str = "multihead",
        attn_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        self.channels, self.conv, self.heads, self.dropout, self.attn_type = channels, conv, heads, dropout, attn_type
        if attn_type == "multihead":
            self.attn: torch.nn.Module = torch.nn.MultiheadAttention(channels, heads, batch_first=True,
                                                                     **(attn_kwargs or {}))
        elif attn_type == "performer":
            self.attn = PerformerAttention(channels, heads, **(attn_kwargs or {}))
        elif attn_type == "linear":
            self.attn = LinearAttention(channels, heads, **(attn_kwargs or {}))
        else:
            raise ValueError(f"attn_type must be 'multihead', 'performer' or 'linear', got {attn_type!r}")
        self.mlp = Sequential(
            Linear(channels, channels * 2), activation_resolver(act, **(act_kwargs or {})), Dropout(dropout),
            Linear(channels * 2, channels), Dropout(dropout),
        )
        self.norm1 = normalization_resolver(norm, channels, **(norm_kwargs or {}))
        self.norm2 = normalization_resolver(norm, channels, **(norm_kwargs or {}))
        self.norm3 = normalization_resolver(norm, channels, **(norm_kwargs or {}))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.conv is not None and hasattr(self.conv, "reset_parameters"):
            self.conv.reset_parameters()
        self.attn._reset_parameters()
        for m in (self.mlp[0], self.mlp[3], self.norm1, self.norm2, self.norm3):
            if m is not None:
                m.reset_parameters()

    def _norm(self, norm: Optional[torch.nn.Module], h: Tensor, batch: Tensor) -> Tensor:
        return h if norm is None else norm(h, batch)

    def forward(self, x: Tensor, adj: Any, batch: Optional[Tensor] = None, **kwargs: Any) -> Tensor:
        if x.dim() != 2 or x.size(1) != self.channels:
            raise ValueError(f"x must have shape [N, {self.channels}], got {list(x.shape)}")
        num_graphs = None
        if batch is None and isinstance(adj, Batch):
            batch, num_graphs = adj.batch, adj.num_graphs
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        if batch.numel() != x.size(0):
            raise ValueError(f"batch has {batch.numel()} entries but x has {x.size(0)} nodes")
        hs = []
        if self.conv is not None:
            h = F.dropout(self.conv(x, adj, **kwargs), p=self.dropout, training=self.training) + x
            hs.append(self._norm(self.norm1, h, batch))
        if isinstance(self.attn, LinearAttention):
            h = self.attn(x, batch, num_graphs)
        elif isinstance(self.attn, PerformerAttention):
            dense, mask, _ = to_padded(x, batch, num_graphs)
            h = self.attn(dense, mask)[mask]
        else:
            h = global_attention(x, batch, self.attn, self.training, num_graphs)
        h = F.dropout(h, p=self.dropout, training=self.training) + x
        hs.append(self._norm(self.norm2, h, batch))
        out = sum(hs)
        out = out + self.mlp(out)
        return self._norm(self.norm3, out, batch)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.channels}, conv={self.conv}, heads={self.heads}, attn_type={self.attn_type})"
