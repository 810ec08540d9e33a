"""graphkit: one sparse graph batch, fused message passing, and OGB training."""
from __future__ import annotations

import torch

from graphkit.batch import Batch
from graphkit.graph import Graph

__version__ = "0.1.0"
__all__ = ["Graph", "Batch", "__version__"]

# A saved Graph holds only tensors, dicts, lists and ints; allow-listing the classes lets
# ``torch.load(path, weights_only=True)`` rebuild it without unpickling arbitrary code.
torch.serialization.add_safe_globals([Graph, Batch])
