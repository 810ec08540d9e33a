r"""LargeGT (Dwivedi et al., "Graph Transformers for Large Graphs", 2023): local attention over sampled 2-hop
tokens that see 4 hops, plus global attention to a k-means codebook of all nodes.

The pieces, each usable alone:

* :func:`hop_features`: :math:`[X \,\|\, \hat A X \,\|\, \dots \,\|\, \hat A^K X]`, computed once on the full
  graph (it goes into the :class:`~graphkit.loader.FeatureStore` that the sampler gathers from);
* :func:`hop_tokens`: each seed's token nodes in a sampled sub-graph (the paper's ``InputTokens``);
* :class:`LargeGT`: the model on one ``NeighborLoader`` batch.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from graphkit.nn.conv.gcn import gcn_norm
from graphkit.ops import spmm
from graphkit.ops._checks import check_positive_int
from graphkit.ops.adjacency import Adjacency, resolve, structure_of
from graphkit.typing import AdjLike

__all__ = ["LargeGT", "hop_features", "hop_tokens"]

MODES = ("full", "local", "global")


def _adjacency(adj: AdjLike, num_nodes: Optional[int], device: torch.device) -> Adjacency:
    return resolve(adj, num_nodes, None, device, src_name="x")


def hop_features(adj: AdjLike, x: Tensor, num_hops: int = 2) -> Tensor:
    r"""Node features propagated ``0..K`` hops, side by side: :math:`[X \,\|\, \hat A X \,\|\, \dots \,\|\,
    \hat A^K X]` with :math:`\hat A = \hat D^{-1/2} (A + I) \hat D^{-1/2}` (GCN's normalisation, as LargeGT's
    reference code; one fused ``spmm`` per hop).

    Computed once on the full graph and stored (a :class:`~graphkit.loader.FeatureStore`): a token that carries
    :math:`\hat A^2 x_u` for a node :math:`u` two hops from its seed brings in what lies four hops away.

    Shapes:
        adj ``(2, |E|)`` or a ``Graph``, x ``(|V|, F)`` -> ``(|V|, (K + 1) F)``.

    >>> ei = torch.tensor([[0, 1], [1, 0]])
    >>> hop_features(ei, torch.tensor([[1.0], [0.0]]), num_hops=1).round(decimals=4).tolist()
    [[1.0, 0.5], [0.0, 0.5]]
    """
    check_positive_int("num_hops", num_hops, 0)
    if x.dim() != 2:
        raise ValueError(f"x must have shape [N, F], got {list(x.shape)}")
    a = _adjacency(adj, x.size(0), x.device)
    _, w, loop = gcn_norm(a, dtype=x.dtype)
    out, h = [x], x
    for _ in range(num_hops):
        h = spmm(a, h, w, diag=loop)  # the self-loop term in the kernel's epilogue, no extra pass
        out.append(h)
    return torch.cat(out, 1)


def _check_fanouts(fanouts: Sequence[int]) -> Tuple[int, ...]:
    fanouts = tuple(fanouts)
    if not fanouts or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in fanouts):
        raise ValueError(f"fanouts must be a non-empty sequence of positive ints, got {fanouts!r}")
    return fanouts


def hop_tokens(adj: AdjLike, num_seeds: int, fanouts: Sequence[int] = (10, 5),
               num_nodes: Optional[int] = None) -> Tensor:
    r"""The token nodes of seeds ``0..B-1`` in a sampled sub-graph, padded with ``-1`` (LargeGT's ``InputTokens``).

    Row :math:`s` lists the seed :math:`s`, then its first :math:`k_1` in-neighbours (its sampled 1-hop
    neighbours, in CSR order), then the first :math:`k_2` in-neighbours of each of those, and so on for every
    entry of ``fanouts``: a multiset (a node reached along two paths appears twice, as in the paper's sample
    from :math:`A \cup A^2`) of at most :math:`1 + k_1 + k_1 k_2 + \dots` entries, ``-1`` where a neighbour is
    missing, so every row has the same length and the positions say the hop.

    Give it a batch of :class:`~graphkit.loader.NeighborLoader` with ``num_neighbors=fanouts``: its seeds are
    local nodes ``0..batch_size-1`` and each node's in-edges are already a uniform sample, so the first
    :math:`k` are a uniform sample too. On an unsampled graph the first :math:`k` in CSR order are taken
    (deterministic, not random).

    Shapes:
        adj ``(2, |E|)`` or a ``Graph`` -> ``(B, 1 + k_1 + k_1 k_2 + ...)`` int64 local node ids.

    >>> ei = torch.tensor([[1, 2, 3, 4], [0, 0, 1, 1]])   # 1 -> 0, 2 -> 0, 3 -> 1, 4 -> 1
    >>> hop_tokens(ei, 1, fanouts=(2, 1), num_nodes=5).tolist()
    [[0, 1, 2, 3, -1]]
    """
    fanouts = _check_fanouts(fanouts)
    known = structure_of(adj)
    device = known.device if known is not None else getattr(adj, "device", torch.device("cpu"))
    a = _adjacency(adj, num_nodes, device)
    n = a.num_dst
    if isinstance(num_seeds, bool) or not isinstance(num_seeds, int) or not 0 <= num_seeds <= n:
        raise ValueError(f"num_seeds must be an int in [0, {n}] (the number of nodes), got {num_seeds!r}")
    rowptr, col, _ = a.csr()
    deg = rowptr[1:] - rowptr[:-1]
    # one slot past the last edge reads -1: every missing neighbour points there, with no mask per hop
    col = torch.cat([col, col.new_full((1,), -1)])
    frontier = torch.arange(num_seeds, device=col.device)[:, None]
    parts = [frontier]
    for k in fanouts:
        f = frontier.clamp(min=0)
        j = torch.arange(k, device=col.device)
        valid = (frontier >= 0)[..., None] & (j < deg[f][..., None])
        pos = torch.where(valid, rowptr[f][..., None] + j, col.numel() - 1)
        frontier = col[pos].view(num_seeds, -1)
        parts.append(frontier)
    return torch.cat(parts, 1)


def _mlp(channels: int, out: int, dropout: float, norm: bool) -> nn.Sequential:
    return nn.Sequential(nn.Linear(channels, out), *([nn.LayerNorm(out)] if norm else []), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(out, out))


class LargeGT(nn.Module):
    r"""LargeGT: a local transformer over each seed's sampled 2-hop tokens, global attention to a codebook.

    Input: one :class:`~graphkit.loader.NeighborLoader` batch whose node features are
    :func:`hop_features` :math:`[x \,\|\, \hat A x \,\|\, \hat A^2 x]` of the full graph, gathered from a
    :class:`~graphkit.loader.FeatureStore`; its first ``batch_size`` nodes are the seeds.

    **Local module.** For seed :math:`s`, :func:`hop_tokens` gives the nodes :math:`u \in T(s)` of its sampled
    2-hop neighbourhood (``fanouts`` :math:`(k_1, k_2)`: :math:`|T(s)| \le 1 + k_1 + k_1 k_2`); each contributes
    :math:`K + 1` tokens :math:`\hat A^p x_u`, :math:`p = 0..K`. With :math:`K = 2` a token two hops away carries
    what lies two hops beyond it: the receptive field is 4 hops, from 2-hop sampling. Tokens go through an MLP,
    one pre-norm transformer layer (multi-head self-attention over the seed's tokens, padding masked, then a
    feed-forward block) and a LayerNorm; the seed's first token :math:`t_0` reads out the rest (NAGphormer's
    readout, as the reference code):

    .. math::
        h^{\mathrm{loc}}_s = t_0 + \sum_{m \ge 1} \operatorname{softmax}_m\big(w^\top [t_0 \,\|\, t_m]\big)\, t_m

    **Global module.** :math:`z_s = W_g\, \mathrm{MLP}(x_s)` attends to :math:`C` k-means centroids of the
    :math:`z` of all training nodes, weighted by their sizes (:class:`~graphkit.nn.attention.CodebookAttention`,
    :math:`O(C)` per seed); in training each step then moves the centroids (EMA k-means,
    :class:`~graphkit.nn.KMeansCodebook`).

    **Output.** :math:`y_s = W_o\, \mathrm{FFN}([h^{\mathrm{loc}}_s \,\|\, h^{\mathrm{glob}}_s])`.

    Differences from the reference code: LayerNorm where it uses BatchNorm (the output of a seed does not
    depend on the other seeds of its batch), a feed-forward block in the transformer layer, no node2vec
    positional encoding in the global query, codebook weights from running cluster sizes (see
    ``CodebookAttention``), and tokens padded rather than repeated when a seed has few neighbours.

    Args:
        in_channels: ``F``, the width of the raw features (``x`` has ``(num_hops + 1) * F`` columns).
        hidden_channels: ``H``.
        out_channels: classes.
        fanouts: :math:`(k_1, k_2)`, at most the loader's ``num_neighbors`` (larger is wasted padding).
        num_hops: ``K``, the hops of :func:`hop_features` in ``x``.
        num_centroids: ``C``. global_channels: width of :math:`z`. heads: attention heads (local and global;
            must divide ``H``). dropout: in the MLPs. attn_dropout: on attention weights.
        decay: the codebook's EMA decay.
        mode: ``"full"`` (both modules), ``"local"`` or ``"global"`` (one of them, as the paper's ablation).

    Shapes:
        x ``(|V_sub|, (K + 1) F)``, adj ``(2, |E_sub|)`` or the batch ``Graph``, ``batch_size`` ``B``
        (default ``|V_sub|``: every node is a seed) -> ``(B, out_channels)``.

    >>> torch.manual_seed(0) and None
    >>> ei = torch.tensor([[1, 2, 3, 4, 0], [0, 0, 1, 2, 1]])
    >>> x = hop_features(ei, torch.randn(5, 3))
    >>> model = LargeGT(3, 8, 4, fanouts=(2, 2), num_centroids=4, heads=2)
    >>> model(x, ei, batch_size=2).shape
    torch.Size([2, 4])
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, fanouts: Sequence[int] = (10, 5),
                 num_hops: int = 2, num_centroids: int = 1024, global_channels: int = 64, heads: int = 1,
                 dropout: float = 0.5, attn_dropout: float = 0.0, decay: float = 0.99, mode: str = "full") -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                        ("out_channels", out_channels), ("heads", heads), ("global_channels", global_channels)):
            check_positive_int(name, v)
        if hidden_channels % heads:
            raise ValueError(f"hidden_channels must be divisible by heads, got {hidden_channels} and {heads}")
        check_positive_int("num_hops", num_hops, 0)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.in_channels, self.hidden_channels, self.out_channels = in_channels, hidden_channels, out_channels
        self.fanouts, self.num_hops, self.mode = _check_fanouts(fanouts), num_hops, mode
        h = hidden_channels
        if mode != "global":
            self.token_in = _mlp(in_channels, h, dropout, norm=False)
            self.norm1, self.norm2, self.norm_out = nn.LayerNorm(h), nn.LayerNorm(h), nn.LayerNorm(h)
            self.attn = nn.MultiheadAttention(h, heads, dropout=attn_dropout, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(h, 2 * h), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * h, h))
            self.readout = nn.Linear(2 * h, 1)
        if mode != "local":
            # imported here: graphkit.nn.models loads with graphkit.nn, the attention package only on first use
            from graphkit.nn.attention.codebook_attention import CodebookAttention

            self.seed_in = _mlp(in_channels, h, dropout, norm=True)
            self.proj_global = nn.Linear(h, global_channels)
            self.global_attn = CodebookAttention(global_channels, h // heads, num_centroids, heads, attn_dropout,
                                                 decay)
        width = 2 * h if mode == "full" else h
        self.ffn = nn.Sequential(nn.Linear(width, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(h, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(dropout))
        self.lin_out = nn.Linear(h, out_channels)

    def reset_parameters(self) -> None:
        """Re-initialise every weight and empty the codebook (a fresh model, as after construction)."""
        for m in self.modules():
            if isinstance(m, nn.MultiheadAttention):
                m._reset_parameters()  # torch's own name for it; its in-projection has no public reset
            elif m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def local(self, x: Tensor, tokens: Tensor) -> Tensor:
        """The local module on token nodes ``tokens`` ``[B, T]`` (``-1`` pads): ``[B, H]``."""
        b, t = tokens.shape
        k1 = self.num_hops + 1
        feats = x[tokens.clamp(min=0)].view(b, t * k1, self.in_channels)  # node-major: a node's hops side by side
        mask = (tokens >= 0).repeat_interleave(k1, 1)
        h = self.token_in(feats)
        y = self.norm1(h)
        h = h + self.attn(y, y, y, key_padding_mask=~mask, need_weights=False)[0]
        h = self.norm_out(h + self.ff(self.norm2(h)))
        seed, rest, keep = h[:, :1], h[:, 1:], mask[:, 1:]
        score = self.readout(torch.cat([seed.expand_as(rest), rest], -1)).squeeze(-1)
        # padded tokens: a finite floor (a row of padding only would make softmax NaN), then zero weight
        score = score.masked_fill(~keep, torch.finfo(score.dtype).min).softmax(-1) * keep
        return seed.squeeze(1) + (score.unsqueeze(-1) * rest).sum(1)

    def forward(self, x: Tensor, adj: AdjLike, batch_size: Optional[int] = None) -> Tensor:
        width = (self.num_hops + 1) * self.in_channels
        if x.dim() != 2 or x.size(1) != width:
            raise ValueError(f"x must have shape [N, {width}] ((num_hops + 1) * in_channels: x and its "
                             f"{self.num_hops} propagated copies, see hop_features), got {list(x.shape)}")
        n = x.size(0)
        b = n if batch_size is None else batch_size
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= n:
            raise ValueError(f"batch_size must be an int in [1, {n}] (the batch's nodes), got {batch_size!r}")
        outs = []
        if self.mode != "global":
            outs.append(self.local(x, hop_tokens(adj, b, self.fanouts, num_nodes=n)))
        if self.mode != "local":
            outs.append(self.global_attn(self.proj_global(self.seed_in(x[:b, : self.in_channels]))))
        return self.lin_out(self.ffn(torch.cat(outs, 1)))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.hidden_channels}, {self.out_channels}, "
                f"fanouts={self.fanouts}, num_hops={self.num_hops}, mode={self.mode!r})")
