"""Conversions to and from PyG, DGL, networkx and scipy. Each peer is imported only when its converter runs."""
from graphkit.interop.dgl import from_dgl, to_dgl
from graphkit.interop.networkx import from_networkx, to_networkx
from graphkit.interop.pyg import from_pyg, to_pyg
from graphkit.interop.scipy import from_scipy, to_scipy

__all__ = ["from_pyg", "to_pyg", "from_dgl", "to_dgl", "from_networkx", "to_networkx", "from_scipy", "to_scipy"]
