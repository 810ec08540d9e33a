"""Data sets: OGB (``load_ogb``), Planetoid and TUDataset (downloaded, read safely), and the real data sets that packages on this machine ship.

``registry.available()`` lists every name with its kind and whether its source is on disk (``graphkit
datasets``); ``registry.load(name, root)`` builds one. Sources, sizes and licences: ``datasets/DATASETS.md``.
"""
from graphkit.datasets import registry
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.digits import Digits
from graphkit.datasets.fashion_mnist import FashionMNIST
from graphkit.datasets.meshes import MeshShapes
from graphkit.datasets.molecules import B3DB, FreeSolv, MoleculeDataset, Solubility
from graphkit.datasets.movielens import MovieLens100K
from graphkit.datasets.ogb import load_ogb
from graphkit.datasets.planetoid import Planetoid
from graphkit.datasets.pointclouds import PointCloudShapes
from graphkit.datasets.qm9 import QM9
from graphkit.datasets.registry import available, load, register
from graphkit.datasets.tu import TUDataset
from graphkit.datasets.zinc import ZINC

__all__ = [
    "load_ogb", "registry", "available", "load", "register", "GraphDataset", "DataNotFoundError",
    "FashionMNIST", "Digits", "PointCloudShapes", "MeshShapes", "MoleculeDataset", "FreeSolv", "Solubility",
    "B3DB", "MovieLens100K", "Planetoid", "TUDataset", "ZINC", "QM9",
]
