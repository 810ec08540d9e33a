r"""One MLP-Mixer block over patch tokens (Tolstikhin et al. 2021, as used by Graph MLP-Mixer)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import LayerNorm, Linear

__all__ = ["MixerBlock"]


class MixerBlock(torch.nn.Module):
    r"""Token mixing across the ``P`` patches, then channel mixing within each patch (pre-norm, residual):

    .. math::
        X' &= X + \big(W_2\, \sigma(W_1\, (M \odot \mathrm{LN}(X)))\big) \qquad &&\text{(token mixing, per channel)}\\
        Y  &= M \odot \big(X' + \sigma(\mathrm{LN}(X') W_3)\, W_4\big) \qquad &&\text{(channel mixing, per patch)}

    with :math:`X \in \mathbb{R}^{P \times C}`, :math:`W_1 \in \mathbb{R}^{P_h \times P}`, :math:`\sigma` GELU, and
    :math:`M` the ``(P, 1)`` mask of non-empty patches: an empty patch enters the token mix as zero and leaves
    every block as zero, so nothing it holds reaches a real patch. Token mixing uses the patch *order*
    (like MLP-Mixer's pixel positions), so it is not invariant to relabelling the patches; the model's patch
    positional encoding is what ties a position to the graph's structure.

    Args:
        num_patches: ``P``.
        channels: ``C``.
        token_hidden: ``P_h`` (default ``max(P // 2, 1)``, MLP-Mixer's 0.5 expansion).
        channel_hidden: width of the channel MLP (default ``4 C``).
        dropout: dropout inside both MLPs.

    Shapes:
        x ``(B, P, C)``, mask ``(B, P)`` -> ``(B, P, C)``.

    >>> block = MixerBlock(num_patches=4, channels=8)
    >>> x, mask = torch.randn(2, 4, 8), torch.tensor([[True, True, False, True], [True] * 4])
    >>> out = block(x, mask)
    >>> out.shape, bool(out[0, 2].abs().sum() == 0)
    (torch.Size([2, 4, 8]), True)
    """

    def __init__(self, num_patches: int, channels: int, token_hidden: int = 0, channel_hidden: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        token_hidden = token_hidden or max(num_patches // 2, 1)
        channel_hidden = channel_hidden or 4 * channels
        self.num_patches, self.dropout = num_patches, dropout
        self.token_norm, self.channel_norm = LayerNorm(channels), LayerNorm(channels)
        self.token_in, self.token_out = Linear(num_patches, token_hidden), Linear(token_hidden, num_patches)
        self.channel_in, self.channel_out = Linear(channels, channel_hidden), Linear(channel_hidden, channels)

    def _mlp(self, x: Tensor, lin_in: Linear, lin_out: Linear) -> Tensor:
        x = F.dropout(F.gelu(lin_in(x)), self.dropout, self.training)
        return F.dropout(lin_out(x), self.dropout, self.training)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if x.dim() != 3 or x.size(1) != self.num_patches:
            raise ValueError(f"x must have shape [B, {self.num_patches}, C], got {list(x.shape)}")
        m = mask.unsqueeze(-1).to(x.dtype)
        tokens = (self.token_norm(x) * m).transpose(1, 2)  # [B, C, P]: mix along the patches
        x = x + self._mlp(tokens, self.token_in, self.token_out).transpose(1, 2)
        x = x + self._mlp(self.channel_norm(x), self.channel_in, self.channel_out)
        return x * m
