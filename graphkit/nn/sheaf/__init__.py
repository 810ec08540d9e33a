"""Sheaf neural networks: restriction-map learners, sheaf Laplacians and Neural Sheaf Diffusion."""
from graphkit.nn.sheaf.diffusion import SheafDiffusion
from graphkit.nn.sheaf.laplacian import SheafLaplacian, sheaf_laplacian_blocks, sheaf_structure
from graphkit.nn.sheaf.maps import EdgeWeightLearner, LocalConcatSheafLearner, cayley, householder
from graphkit.nn.sheaf.nsd import NSD

__all__ = [
    "SheafDiffusion",
    "NSD",
    "SheafLaplacian",
    "sheaf_structure",
    "sheaf_laplacian_blocks",
    "LocalConcatSheafLearner",
    "EdgeWeightLearner",
    "householder",
    "cayley",
]
