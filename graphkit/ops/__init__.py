"""Python face of graphkit's kernels: fused gather/scatter ops with autograd.

Every op dispatches to the compiled ``graphkit._C`` (``torch.ops.graphkit.*``; C++/OpenMP on CPU, CUDA on GPU)
when it is built and loadable, else to an equivalent pure-torch path. ``backend()`` says which one runs;
``use_backend("torch")`` or ``GRAPHKIT_FORCE_TORCH=1`` forces the fallback.
"""
from graphkit.ops._backend import backend, ext_available, load_error, use_backend
from graphkit.ops.linear import linear
from graphkit.ops.reorder import reorder
from graphkit.ops.scatter import scatter, segment
from graphkit.ops.segment_matmul import relation_groups, relation_matmul, relation_spmm, segment_matmul
from graphkit.ops.sddmm import sddmm
from graphkit.ops.softmax import edge_softmax
from graphkit.ops.spmm import spmm

__all__ = [
    "scatter",
    "segment",
    "spmm",
    "linear",
    "sddmm",
    "edge_softmax",
    "reorder",
    "segment_matmul",
    "relation_spmm",
    "relation_matmul",
    "relation_groups",
    "backend",
    "use_backend",
    "ext_available",
    "load_error",
]
