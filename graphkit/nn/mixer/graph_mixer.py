r"""Graph MLP-Mixer and Graph ViT (He et al., "A Generalization of ViT/MLP-Mixer to Graphs", ICML 2023)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Identity, LayerNorm, Linear, ModuleList, Sequential

from graphkit.graph import Graph
from graphkit.nn.mixer.mixer_block import MixerBlock
from graphkit.nn.mixer.patch_attention import PatchAttentionBlock
from graphkit.nn.mixer.patch_copies import patch_copies
from graphkit.nn.mixer.patch_encoder import PatchEncoder
from graphkit.ops._checks import check_positive_int

__all__ = ["GraphMLPMixer"]

MIXERS = ("mlp", "attention")


class GraphMLPMixer(torch.nn.Module):
    r"""Graph-level model: patches -> GNN patch encoder -> mixer over patch tokens -> mean over patches.

    With ``P`` patches :math:`V_1..V_P` per graph (:class:`graphkit.transforms.GraphPatches`: METIS parts grown
    by one hop),

    .. math::
        h_v &= W_{in} x_v + W_{pe}\, \mathrm{RWSE}_v \qquad \text{(node random-walk encoding, optional)} \\
        z_p &= \mathrm{PatchEncoder}(h, V_p) + W_{P}\, \mathrm{RWSE}(A^P)_p \qquad
            \text{(patch encoding of the coarsened graph, optional)} \\
        Z &\leftarrow \mathrm{Block}_k(Z) \quad k = 1..K \qquad \text{(MixerBlock, or PatchAttentionBlock)} \\
        Z &\leftarrow \mathrm{LN}(Z) \qquad \text{(only with } \texttt{final_norm}\text{)} \\
        y &= \mathrm{MLP}\Big(\tfrac{1}{|\mathcal{M}|} \textstyle\sum_{p \in \mathcal{M}} z_p\Big)

    where :math:`\mathcal{M}` are the non-empty patches (empty ones are masked everywhere). The cost is linear in
    the graph size: the encoder is a GNN over the node copies (about :math:`(1 + \text{overlap}) |V|`), and the
    mixer works on ``P`` tokens per graph, whatever the graph's size.

    Args:
        in_channels: node feature width (embed categorical features first, e.g. with an atom encoder).
        hidden_channels: width of copies and tokens.
        out_channels: output width per graph.
        num_patches: ``P``; must match the ``GraphPatches`` transform the data went through.
        num_gnn_layers: GIN layers of the patch encoder.
        num_mixer_layers: mixer (or attention) blocks.
        mixer: ``"mlp"`` (Graph MLP-Mixer: token + channel mixing) or ``"attention"`` (Graph ViT).
        heads: attention heads (``mixer="attention"``).
        node_pe_dim: width of a node encoding read from field ``node_pe_field`` (``0``: none); e.g.
            ``graphkit.transforms.AddRandomWalkPE(node_pe_dim)``.
        patch_pe_dim: width of the patch encoding ``patch_pe`` (``GraphPatches(patch_rw_steps=...)``; ``0``: none).
        dropout: dropout of the patch encoder. mixer_dropout: dropout inside the blocks.
        node_pe_field: the node field holding the node encoding.
        norm: normalisation in the patch encoder: ``"batch"`` (the paper's; in training mode it couples the graphs
            of a batch), ``"layer"`` or ``"none"``.
        pe_norm: standardise the node and patch encodings with a BatchNorm before their linear maps (the patch
            encoding over non-empty patches only).
        token_hidden: hidden width of the token-mixing MLP (``mixer="mlp"``; ``0``: ``max(P // 2, 1)``, MLP-Mixer's
            0.5 expansion). The paper's code uses ``4 * hidden_channels``.
        channel_hidden: hidden width of the channel MLP (``"mlp"``) or of the feed-forward MLP (``"attention"``);
            ``0``: ``4 * hidden_channels``. The paper's code uses ``hidden_channels // 2`` (mixer) and
            ``2 * hidden_channels`` (attention).
        final_norm: a LayerNorm on the patch tokens after the last block (the paper's MLP-Mixer has one; a pre-norm
            stack otherwise hands un-normalised residual sums to the readout).

    Shapes:
        a graph or a batch of ``B`` graphs with patch fields; x ``(N, in_channels)`` (default ``graph.x``) ->
        ``(B, out_channels)`` (``B = 1`` for a single graph).

    >>> from graphkit import Batch, Graph
    >>> from graphkit.transforms import Compose, AddRandomWalkPE, GraphPatches
    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> pre = Compose([AddRandomWalkPE(4), GraphPatches(num_patches=3, patch_rw_steps=4)])
    >>> graphs = [pre(Graph(x=torch.randn(6, 5), edge_index=ring)) for _ in range(2)]
    >>> model = GraphMLPMixer(5, 16, 2, num_patches=3, node_pe_dim=4, patch_pe_dim=4)
    >>> model(Batch.from_graphs(graphs)).shape
    torch.Size([2, 2])
    >>> GraphMLPMixer(5, 16, 2, num_patches=3, mixer="attention", heads=4)(graphs[0]).shape
    torch.Size([1, 2])
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_patches: int,
                 num_gnn_layers: int = 2, num_mixer_layers: int = 2, mixer: str = "mlp", heads: int = 4,
                 node_pe_dim: int = 0, patch_pe_dim: int = 0, dropout: float = 0.0, mixer_dropout: float = 0.0,
                 node_pe_field: str = "random_walk_pe", norm: str = "batch", pe_norm: bool = True,
                 token_hidden: int = 0, channel_hidden: int = 0, final_norm: bool = False) -> None:
        super().__init__()
        if mixer not in MIXERS:
            raise ValueError(f"mixer must be one of {MIXERS}, got {mixer!r}")
        for name, value, low in (("num_patches", num_patches, 1), ("num_mixer_layers", num_mixer_layers, 0),
                                 ("node_pe_dim", node_pe_dim, 0), ("patch_pe_dim", patch_pe_dim, 0),
                                 ("token_hidden", token_hidden, 0), ("channel_hidden", channel_hidden, 0)):
            check_positive_int(name, value, low)
        self.num_patches, self.mixer = num_patches, mixer
        self.node_pe_dim, self.patch_pe_dim, self.node_pe_field = node_pe_dim, patch_pe_dim, node_pe_field
        self.lin_in = Linear(in_channels, hidden_channels)
        # Random-walk encodings differ between graphs in the second or third digit (return probabilities); without
        # standardising them first (BatchNorm, as the paper's encoders), training barely sees the difference.
        def pe_encoder(dim: int) -> Sequential:
            return Sequential(BatchNorm1d(dim) if pe_norm else Identity(), Linear(dim, hidden_channels))

        self.node_pe = pe_encoder(node_pe_dim) if node_pe_dim else None
        self.patch_pe = pe_encoder(patch_pe_dim) if patch_pe_dim else None
        self.encoder = PatchEncoder(hidden_channels, num_gnn_layers, dropout, norm)
        if mixer == "mlp":
            self.blocks = ModuleList(MixerBlock(num_patches, hidden_channels, token_hidden, channel_hidden,
                                                dropout=mixer_dropout) for _ in range(num_mixer_layers))
        else:
            self.blocks = ModuleList(PatchAttentionBlock(hidden_channels, heads, channel_hidden, dropout=mixer_dropout)
                                     for _ in range(num_mixer_layers))
        self.final_norm = LayerNorm(hidden_channels) if final_norm else None
        self.head_hidden = Linear(hidden_channels, hidden_channels)
        self.head_out = Linear(hidden_channels, out_channels)

    def _field(self, graph: Graph, name: str, width: int) -> Tensor:
        if name not in graph.keys():
            raise ValueError(f"graph has no field {name!r}, which the model needs (width {width})")
        value = graph[name]
        if value.size(-1) != width:
            raise ValueError(f"{name} has width {value.size(-1)} but the model was built for {width}")
        return value

    def forward(self, graph: Graph, x: Optional[Tensor] = None, node_pe: Optional[Tensor] = None) -> Tensor:
        copies = patch_copies(graph)
        if copies.num_patches != self.num_patches:
            raise ValueError(f"patch_mask has {copies.num_patches} patches per graph but the model was built for "
                             f"num_patches={self.num_patches}")
        x = graph.x if x is None else x
        if x is None:
            raise ValueError("x is None: the graph has no field 'x' and no x was given")
        if x.size(0) != graph.num_nodes:
            raise ValueError(f"x has {x.size(0)} rows but the graph has {graph.num_nodes} nodes")
        h = self.lin_in(x.view(-1, 1) if x.dim() == 1 else x)
        if self.node_pe is not None:
            pe = self._field(graph, self.node_pe_field, self.node_pe_dim) if node_pe is None else node_pe
            h = h + self.node_pe(pe.to(h.dtype))
        z = self.encoder(h, copies)
        if self.patch_pe is not None:
            if copies.pe is None:
                raise ValueError(f"graph has no field 'patch_pe' but patch_pe_dim is {self.patch_pe_dim}: "
                                 f"use GraphPatches(patch_rw_steps={self.patch_pe_dim})")
            pe = self._field(graph, "patch_pe", self.patch_pe_dim).to(z.dtype)
            mask = copies.mask
            z = z.masked_scatter(mask.unsqueeze(-1), (z[mask] + self.patch_pe(pe[mask])))
        mask = copies.mask
        z = z * mask.unsqueeze(-1).to(z.dtype)  # empty patches start (and stay) at zero
        for block in self.blocks:
            z = block(z, mask) if self.mixer == "mlp" else block(z, copies.coarse, mask)
        keep = mask.unsqueeze(-1).to(z.dtype)
        if self.final_norm is not None:
            z = self.final_norm(z) * keep  # LayerNorm's bias would make empty patches non-zero
        pooled = z.sum(dim=1) / keep.sum(dim=1).clamp(min=1)
        return self.head_out(F.relu(self.head_hidden(pooled)))
