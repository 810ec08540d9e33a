"""Graph MLP-Mixer / Graph ViT (He et al., ICML 2023): METIS patches, a GNN patch encoder, mixing over patches.

Patches come from :class:`graphkit.transforms.GraphPatches` (run it once, as a ``pre_transform``).
"""
from graphkit.nn.mixer.graph_mixer import GraphMLPMixer
from graphkit.nn.mixer.graph_vit import GraphViT
from graphkit.nn.mixer.mixer_block import MixerBlock
from graphkit.nn.mixer.patch_attention import PatchAttentionBlock
from graphkit.nn.mixer.patch_copies import PatchCopies, patch_copies
from graphkit.nn.mixer.patch_encoder import PatchEncoder

__all__ = ["GraphMLPMixer", "GraphViT", "MixerBlock", "PatchAttentionBlock", "PatchEncoder", "PatchCopies",
           "patch_copies"]
