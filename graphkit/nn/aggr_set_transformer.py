r"""``SetTransformerAggregation`` (Lee et al., "Set Transformer: A Framework for Attention-based
Permutation-Invariant Neural Networks"): each node's messages (or each graph's nodes) as a padded set, encoded by
self-attention and pooled by attention onto learned seed vectors."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphkit.nn.aggr import Aggregation
from graphkit.utils.dense import to_dense_batch

__all__ = ["SetTransformerAggregation"]


class AttentionBlock(torch.nn.Module):
    r"""The set transformer's MAB: :math:`\mathbf{h} = \mathrm{LN}(\mathbf{x} + \mathrm{MHA}(\mathbf{x},
    \mathbf{y}, \mathbf{y}))`, :math:`\mathrm{LN}(\mathbf{h} + \mathrm{ReLU}(\mathbf{W}\mathbf{h}))`; padded
    elements of ``y`` are never attended to and padded queries give zeros before the residual. Parameter names
    as PyG's ``MultiheadAttentionBlock``.

    Shapes:
        x ``(B, N_x, F)``, y ``(B, N_y, F)``, masks ``(B, N_x)`` / ``(B, N_y)`` -> ``(B, N_x, F)``.
    """

    def __init__(self, channels: int, heads: int, layer_norm: bool, dropout: float) -> None:
        super().__init__()
        self.channels, self.heads, self.dropout = channels, heads, dropout
        self.attn = torch.nn.MultiheadAttention(channels, heads, batch_first=True, dropout=dropout)
        self.lin = torch.nn.Linear(channels, channels)
        self.layer_norm1 = torch.nn.LayerNorm(channels) if layer_norm else None
        self.layer_norm2 = torch.nn.LayerNorm(channels) if layer_norm else None

    def reset_parameters(self) -> None:
        # torch's initialisation of its attention module, through public parameters only
        torch.nn.init.xavier_uniform_(self.attn.in_proj_weight)
        torch.nn.init.zeros_(self.attn.in_proj_bias)
        self.attn.out_proj.reset_parameters()
        torch.nn.init.zeros_(self.attn.out_proj.bias)
        self.lin.reset_parameters()
        for norm in (self.layer_norm1, self.layer_norm2):
            if norm is not None:
                norm.reset_parameters()

    def forward(self, x: Tensor, y: Tensor, x_mask: Optional[Tensor] = None,
                y_mask: Optional[Tensor] = None) -> Tensor:
        out = self.attn(x, y, y, key_padding_mask=None if y_mask is None else ~y_mask, need_weights=False)[0]
        if x_mask is not None:
            out = out.masked_fill(~x_mask.unsqueeze(-1), 0.0)
        out = out + x
        if self.layer_norm1 is not None:
            out = self.layer_norm1(out)
        out = out + self.lin(out).relu()
        return self.layer_norm2(out) if self.layer_norm2 is not None else out


class SelfAttentionBlock(torch.nn.Module):
    """SAB: an :class:`AttentionBlock` of a set with itself (parameters under ``mab``, as PyG).

    Shapes:
        x ``(B, N, F)``, mask ``(B, N)`` -> ``(B, N, F)``.
    """

    def __init__(self, channels: int, heads: int, layer_norm: bool, dropout: float) -> None:
        super().__init__()
        self.mab = AttentionBlock(channels, heads, layer_norm, dropout)

    def reset_parameters(self) -> None:
        self.mab.reset_parameters()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return self.mab(x, x, mask, mask)


class SeedPooling(torch.nn.Module):
    """PMA: learned seed vectors attend over ``ReLU(W x)`` (parameters ``lin``, ``seed``, ``mab``, as PyG).

    Shapes:
        x ``(B, N, F)``, mask ``(B, N)`` -> ``(B, S, F)``.
    """

    def __init__(self, channels: int, num_seed_points: int, heads: int, layer_norm: bool, dropout: float) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(channels, channels)
        self.seed = torch.nn.Parameter(torch.empty(1, num_seed_points, channels))
        self.mab = AttentionBlock(channels, heads, layer_norm, dropout)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        torch.nn.init.xavier_uniform_(self.seed)
        self.mab.reset_parameters()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return self.mab(self.seed.expand(x.size(0), -1, -1), self.lin(x).relu(), y_mask=mask)


class SetTransformerAggregation(Aggregation):
    r"""Set transformer readout: ``num_encoder_blocks`` self-attention blocks over each set, attention pooling
    onto ``num_seed_points`` seeds, ``num_decoder_blocks`` self-attention blocks over the seeds; the seeds are
    concatenated (``concat``) or averaged. A set with no elements gives zeros. Same arguments and parameters as
    PyG's ``SetTransformerAggregation``; ``index`` must be sorted.

    Shapes:
        x ``(|E|, F)``, index ``(|E|)`` sorted -> ``(|V|, S F)`` (``concat``) or ``(|V|, F)``.

    >>> aggr = SetTransformerAggregation(4, num_seed_points=2, heads=2)
    >>> aggr(torch.randn(5, 4), torch.tensor([0, 0, 1, 1, 1])).shape
    torch.Size([2, 8])
    """

    def __init__(self, channels: int, num_seed_points: int = 1, num_encoder_blocks: int = 1,
                 num_decoder_blocks: int = 1, heads: int = 1, concat: bool = True, layer_norm: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.channels, self.num_seed_points, self.heads = channels, num_seed_points, heads
        self.concat, self.layer_norm, self.dropout = concat, layer_norm, dropout
        self.encoders = torch.nn.ModuleList(
            [SelfAttentionBlock(channels, heads, layer_norm, dropout) for _ in range(num_encoder_blocks)])
        self.pma = SeedPooling(channels, num_seed_points, heads, layer_norm, dropout)
        self.decoders = torch.nn.ModuleList(
            [SelfAttentionBlock(channels, heads, layer_norm, dropout) for _ in range(num_decoder_blocks)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for block in list(self.encoders) + [self.pma] + list(self.decoders):
            block.reset_parameters()

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        size = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        dense, mask = to_dense_batch(x, index, batch_size=size)
        for block in self.encoders:
            dense = block(dense, mask)
        dense = self.pma(dense, mask)
        for block in self.decoders:
            dense = block(dense)
        dense = dense.nan_to_num()  # an empty set attends to nothing: NaN from the softmax, zero here
        return dense.flatten(1, 2) if self.concat else dense.mean(dim=1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.channels}, num_seed_points={self.num_seed_points}, "
                f"heads={self.heads}, layer_norm={self.layer_norm}, dropout={self.dropout})")
