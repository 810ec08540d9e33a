r"""Graph ViT: :class:`~graphkit.nn.mixer.GraphMLPMixer` with attention over patches instead of token mixing."""
from __future__ import annotations

from typing import Any

from graphkit.nn.mixer.graph_mixer import GraphMLPMixer

__all__ = ["GraphViT"]


class GraphViT(GraphMLPMixer):
    r"""``GraphMLPMixer(..., mixer="attention")``: each block is a
    :class:`~graphkit.nn.mixer.PatchAttentionBlock`,

    .. math:: \alpha = A^P \odot \operatorname{softmax}\big(Q K^\top / \sqrt{d}\big),

    multi-head attention over the ``P`` patch tokens weighted by the coarsened patch adjacency
    :math:`A^P_{pq} = |V_p \cap V_q|`. Being attention, it is equivariant to the patch order, which token
    mixing is not. Arguments as :class:`~graphkit.nn.mixer.GraphMLPMixer`, without ``mixer``.

    Shapes:
        a graph or a batch of ``B`` graphs with patch fields -> ``(B, out_channels)``.

    >>> import torch
    >>> from graphkit import Graph
    >>> from graphkit.transforms import GraphPatches
    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> g = GraphPatches(num_patches=2)(Graph(x=torch.randn(6, 3), edge_index=ring))
    >>> GraphViT(3, 8, 1, num_patches=2, heads=2)(g).shape
    torch.Size([1, 1])
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_patches: int,
                 **kwargs: Any) -> None:
        if "mixer" in kwargs:
            raise ValueError(f"GraphViT always uses mixer='attention', got mixer={kwargs['mixer']!r}")
        super().__init__(in_channels, hidden_channels, out_channels, num_patches, mixer="attention", **kwargs)
