r"""One Graph ViT block: multi-head attention over patch tokens, weighted by the coarsened patch adjacency."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import LayerNorm, Linear

__all__ = ["PatchAttentionBlock"]


class PatchAttentionBlock(torch.nn.Module):
    r"""Graph ViT's "Hadamard" attention block (pre-norm transformer block over the ``P`` patch tokens):

    .. math::
        \alpha^{(h)} &= A^P \odot \operatorname{softmax}_{q \in \mathcal{M}}\Big(
            \frac{(\mathrm{LN}(X) W_Q^{(h)}) (\mathrm{LN}(X) W_K^{(h)})^\top}{\sqrt{d}}\Big) \\
        X' &= X + \big\Vert_h\, \alpha^{(h)}\, \mathrm{LN}(X) W_V^{(h)}\; W_O \\
        Y &= M \odot \big(X' + \mathrm{GELU}(\mathrm{LN}(X') W_1) W_2\big)

    with :math:`A^P_{pq} = |V_p \cap V_q|` the coarsened adjacency (patches that share no node do not attend to
    each other; the paper's weighting), the softmax over the non-empty patches :math:`\mathcal{M}` only, and
    :math:`M` the mask of non-empty patches (empty ones leave every block as zero). Unlike token mixing, this is
    equivariant to relabelling the patches (permute :math:`X`, :math:`A^P` and :math:`M` together).

    Args:
        channels: ``C`` (divisible by ``heads``).
        heads: attention heads.
        ffn_hidden: width of the feed-forward MLP (default ``4 C``).
        dropout: dropout on the attention weights and inside the MLP.

    Shapes:
        x ``(B, P, C)``, coarse ``(B, P, P)``, mask ``(B, P)`` -> ``(B, P, C)``.

    >>> block = PatchAttentionBlock(channels=8, heads=2)
    >>> x, coarse = torch.randn(1, 3, 8), torch.tensor([[[3.0, 1, 0], [1, 2, 0], [0, 0, 0]]])
    >>> out = block(x, coarse, torch.tensor([[True, True, False]]))
    >>> out.shape, bool(out[0, 2].abs().sum() == 0)
    (torch.Size([1, 3, 8]), True)
    """

    def __init__(self, channels: int, heads: int = 4, ffn_hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        if heads < 1 or channels % heads != 0:
            raise ValueError(f"channels must be divisible by heads, got channels={channels}, heads={heads}")
        self.heads, self.dropout = heads, dropout
        self.attn_norm, self.ffn_norm = LayerNorm(channels), LayerNorm(channels)
        self.qkv, self.out = Linear(channels, 3 * channels), Linear(channels, channels)
        ffn_hidden = ffn_hidden or 4 * channels
        self.ffn_in, self.ffn_out = Linear(channels, ffn_hidden), Linear(ffn_hidden, channels)

    def forward(self, x: Tensor, coarse: Tensor, mask: Tensor) -> Tensor:
        b, p, c = x.shape
        if coarse.shape != (b, p, p):
            raise ValueError(f"coarse must have shape {[b, p, p]} (one P x P adjacency per graph), "
                             f"got {list(coarse.shape)}")
        q, k, v = self.qkv(self.attn_norm(x)).view(b, p, 3, self.heads, c // self.heads).unbind(2)
        scores = torch.einsum("bphd,bqhd->bhpq", q, k) / math.sqrt(c // self.heads)
        # A finite fill, not -inf: a graph with no non-empty patch must give zeros, not NaN.
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        alpha = torch.softmax(scores, dim=-1) * coarse.to(x.dtype).unsqueeze(1)
        alpha = F.dropout(alpha, self.dropout, self.training)
        x = x + self.out(torch.einsum("bhpq,bqhd->bphd", alpha, v).reshape(b, p, c))
        h = F.dropout(F.gelu(self.ffn_in(self.ffn_norm(x))), self.dropout, self.training)
        x = x + F.dropout(self.ffn_out(h), self.dropout, self.training)
        return x * mask.unsqueeze(-1).to(x.dtype)
