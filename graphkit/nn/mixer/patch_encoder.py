r"""The patch encoder of Graph ViT / MLP-Mixer: a GIN over node copies, mean-pooled per patch."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, LayerNorm, Linear, ModuleList, ReLU, Sequential

from graphkit.nn.conv.gin import GINConv
from graphkit.nn.mixer.patch_copies import PatchCopies
from graphkit.ops import scatter
from graphkit.ops._checks import check_positive_int

__all__ = ["PatchEncoder"]

# BatchNorm (the paper's choice) mixes the copies of a whole batch in training mode; "layer" keeps every graph's
# output independent of the others in training too.
NORMS = {"batch": BatchNorm1d, "layer": LayerNorm, "none": lambda channels: Identity()}


class PatchEncoder(torch.nn.Module):
    r"""Encode each patch's sub-graph into one token.

    With :math:`h^{(0)}_{(p,v)} = x_v` for the copy of node :math:`v` in patch :math:`p`, layer :math:`\ell`
    computes

    .. math::
        \tilde h_{(p,v)} &= h^{(\ell-1)}_{(p,v)} + U_\ell\Big(\tfrac{1}{|V_p|} \textstyle\sum_{u \in V_p}
            h^{(\ell-1)}_{(p,u)}\Big) \quad (\ell > 1) \\
        \bar h_{(p,v)} &= \tfrac{1}{|\{q : v \in V_q\}|} \textstyle\sum_{q \ni v} \tilde h_{(q,v)}
            \quad (\ell > 1) \\
        h^{(\ell)}_{(p,v)} &= \bar h_{(p,v)} + \mathrm{ReLU}\Big(\mathrm{Norm}\big(\mathrm{GIN}_\ell(\bar h, E_p)
            _{(p,v)}\big)\Big)

    (the paper's patch encoder: the patch summary :math:`U_\ell` (Linear + ReLU) and the average over a node's
    copies let overlapping patches exchange information between GIN layers), and the token of patch :math:`p` is
    :math:`z_p = \frac{1}{|V_p|}\sum_{v \in V_p} h^{(L)}_{(p,v)}` (zero for an empty patch). GIN runs on the copy
    graph only, so no message crosses two patches inside a layer.

    Args:
        channels: width of the copies' features (input and output).
        num_layers: GIN layers.
        dropout: dropout after each layer.
        norm: ``"batch"`` (BatchNorm over the copies, as the paper), ``"layer"`` (LayerNorm per copy) or ``"none"``.

    Shapes:
        x ``(N, C)``, copies of ``B`` graphs with ``P`` patches -> ``(B, P, C)``.

    >>> from graphkit import Graph
    >>> from graphkit.transforms import GraphPatches
    >>> from graphkit.nn.mixer import patch_copies
    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> g = GraphPatches(4)(Graph(x=torch.randn(6, 8), edge_index=ring))
    >>> PatchEncoder(8, num_layers=2)(g.x, patch_copies(g)).shape
    torch.Size([1, 4, 8])
    """

    def __init__(self, channels: int, num_layers: int = 2, dropout: float = 0.0, norm: str = "batch") -> None:
        super().__init__()
        check_positive_int("num_layers", num_layers)
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {tuple(NORMS)}, got {norm!r}")
        self.norms = ModuleList(NORMS[norm](channels) for _ in range(num_layers))
        self.dropout = dropout
        self.convs = ModuleList(
            GINConv(Sequential(Linear(channels, channels), ReLU(), Linear(channels, channels)), train_eps=True)
            for _ in range(num_layers)
        )
        self.summaries = ModuleList(Linear(channels, channels) for _ in range(num_layers - 1))

    def forward(self, x: Tensor, copies: PatchCopies) -> Tensor:
        num_tokens = copies.num_graphs * copies.num_patches
        h = x[copies.node]
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if i > 0:
                summary = scatter(h, copies.patch, dim_size=num_tokens, reduce="mean")
                h = h + F.relu(self.summaries[i - 1](summary))[copies.patch]
                h = scatter(h, copies.node, dim_size=x.size(0), reduce="mean")[copies.node]
            h = h + F.relu(norm(conv(h, copies.adj)))
            h = F.dropout(h, self.dropout, self.training)
        tokens = scatter(h, copies.patch, dim_size=num_tokens, reduce="mean")
        return tokens.view(copies.num_graphs, copies.num_patches, -1)
