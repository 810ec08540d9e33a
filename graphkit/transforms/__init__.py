"""Transforms: callables ``Graph -> Graph`` with PyG's names and semantics (``torch_geometric.transforms``).

A transform never modifies its input. Applied to a :class:`~graphkit.Batch`, it runs on every graph and batches
the results again. ``RandomLinkSplit`` returns three graphs (train, val, test).
"""
from graphkit.transforms.base import BaseTransform, Compose
from graphkit.transforms.diffusion import GDC, SIGN
from graphkit.transforms.encodings import AddLaplacianEigenvectorPE, AddRandomWalkPE
from graphkit.transforms.features import NormalizeFeatures, OneHotDegree
from graphkit.transforms.geometry import (
    FaceToEdge,
    KNNGraph,
    NormalizeScale,
    RadiusGraph,
    RandomFlip,
    RandomJitter,
    RandomRotate,
    SamplePoints,
)
from graphkit.transforms.patches import GraphPatches
from graphkit.transforms.splits import RandomLinkSplit, RandomNodeSplit
from graphkit.transforms.structure import (
    AddSelfLoops,
    RemoveIsolatedNodes,
    RemoveSelfLoops,
    ToUndirected,
    VirtualNode,
)

__all__ = [
    "BaseTransform",
    "Compose",
    "NormalizeFeatures",
    "ToUndirected",
    "AddSelfLoops",
    "RemoveSelfLoops",
    "RemoveIsolatedNodes",
    "RandomNodeSplit",
    "RandomLinkSplit",
    "OneHotDegree",
    "VirtualNode",
    "GDC",
    "SIGN",
    "AddLaplacianEigenvectorPE",
    "AddRandomWalkPE",
    "GraphPatches",
    "KNNGraph",
    "RadiusGraph",
    "FaceToEdge",
    "SamplePoints",
    "NormalizeScale",
    "RandomRotate",
    "RandomJitter",
    "RandomFlip",
]
