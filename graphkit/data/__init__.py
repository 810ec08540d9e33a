"""Converters from every modality to ``Graph``/``Batch``, and the collate function for DataLoaders.

Heavy optional dependencies (RDKit for molecules, meshio for mesh files) are imported when a converter runs,
so ``import graphkit.data`` needs only torch, numpy and scipy.
"""
from graphkit.data.collate import collate
from graphkit.data.image import image_to_graph
from graphkit.data.mesh import mesh_edge_graph, mesh_to_graph
from graphkit.data.mesh_io import read_mesh
from graphkit.data.molecule import smiles_to_graph, smiles_to_graphs
from graphkit.data.pointcloud import knn_graph, radius_graph
from graphkit.data.recsys import (
    NegativeSampler,
    interactions_to_graph,
    ndcg_at_k,
    recall_at_k,
    sample_negatives,
    split_interactions,
    top_k_items,
)
from graphkit.data.spectral import heat_kernel_signature, laplacian_eigenpairs, shape_dna
from graphkit.data.splits import random_split, scaffold_split, stratified_split

__all__ = [
    "collate", "image_to_graph", "knn_graph", "radius_graph", "mesh_to_graph", "mesh_edge_graph", "read_mesh",
    "smiles_to_graph", "smiles_to_graphs", "interactions_to_graph", "recall_at_k", "ndcg_at_k",
    "sample_negatives", "split_interactions", "NegativeSampler", "top_k_items", "random_split",
    "stratified_split", "scaffold_split", "laplacian_eigenpairs", "heat_kernel_signature", "shape_dna",
]
