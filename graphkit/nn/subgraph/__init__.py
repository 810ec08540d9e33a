"""Subgraph GNNs: bags of subgraphs as one Batch (SubgraphBag), DS/DSS/SSWL layers and models."""
from graphkit.nn.subgraph.bag import SubgraphBag, SubgraphBatch
from graphkit.nn.subgraph.dss import DSSLayer, gin_conv
from graphkit.nn.subgraph.models import DSGNN, DSSGNN, SubgraphGNN
from graphkit.nn.subgraph.policies import POLICIES
from graphkit.nn.subgraph.sswl import SSWLLayer

__all__ = ["SubgraphBag", "SubgraphBatch", "DSSLayer", "SSWLLayer", "SubgraphGNN", "DSGNN", "DSSGNN", "gin_conv",
           "POLICIES"]
