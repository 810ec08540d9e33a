"""Fake (meta) implementations of the ``torch.ops.graphkit`` kernels: output shapes, dtypes and devices only.

``torch.compile`` (and ``torch.export``, FakeTensor, the meta device) run an op on tensors without data; an op
without a fake implementation is a graph break (or an error under ``fullgraph=True``). One function per schema of
``kernels/registration.cpp``; ``_backend`` registers them right after ``graphkit._C`` loads. They must agree with
every real kernel (CPU and CUDA): ``tests/ops/test_fake.py`` checks each against the CPU extension with
``torch.library.opcheck`` and compiles every op with ``fullgraph=True``.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["register"]


def _csr_reduce(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str
) -> Tuple[Tensor, Tensor]:
    rows = rowptr.size(0) - 1
    out = x.new_empty((rows, x.size(1), x.size(2)))
    arg_shape = (rows, x.size(1), x.size(2)) if reduce in ("max", "min") else (0,)
    return out, x.new_empty(arg_shape, dtype=torch.long)


def _csr_reduce_epilogue(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str,
    diag: Optional[Tensor], bias: Optional[Tensor], act: str
) -> Tensor:
    return x.new_empty((rowptr.size(0) - 1, x.size(1), x.size(2)))


def _dense_mm(a: Tensor, b: Tensor) -> Tensor:
    return a.new_empty((a.size(0), b.size(1)))


def _relu_backward(grad: Tensor, out: Tensor) -> Tensor:
    return grad.new_empty(grad.shape)


def _sddmm(rowptr: Tensor, col: Tensor, eid: Optional[Tensor], a: Tensor, b: Tensor, op: str) -> Tensor:
    shape = (col.size(0), a.size(1)) if op == "dot" else (col.size(0), a.size(1), a.size(2))
    return a.new_empty(shape)


def _softmax_fwd(rowptr: Tensor, eid: Optional[Tensor], scores: Tensor) -> Tensor:
    return torch.empty_like(scores, memory_format=torch.contiguous_format)


def _softmax_bwd(rowptr: Tensor, eid: Optional[Tensor], y: Tensor, grad: Tensor) -> Tensor:
    return torch.empty_like(y, memory_format=torch.contiguous_format)


def _arg_scatter(
    col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], arg: Tensor, grad: Tensor, num_src: int
) -> Tensor:
    return grad.new_empty((num_src, grad.size(1), grad.size(2)))


def _arg_scatter_weight(
    col: Optional[Tensor], eid: Optional[Tensor], x: Tensor, arg: Tensor, grad: Tensor, num_weights: int
) -> Tensor:
    return grad.new_empty((num_weights, grad.size(1)))


def _gather_rows(src: Tensor, index: Tensor, out: Tensor) -> Tensor:
    return out


def _gather_rows_uva(src: Tensor, index: Tensor, pos: Tensor, out: Tensor, stream: int, check: bool = True) -> Tensor:
    return out


def _sampled(like: Tensor, hops: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    # How many nodes and edges a sample reaches depends on the data: two unbacked sizes.
    ctx = torch.library.get_ctx()
    nodes, edges = ctx.new_dynamic_size(), ctx.new_dynamic_size()
    new = like.new_empty
    return (new((nodes,), dtype=torch.long), new((nodes + 1,), dtype=torch.long), new((2, edges), dtype=torch.long),
            new((edges,), dtype=torch.long), new((hops + 1,), dtype=torch.long), new((hops,), dtype=torch.long))


def _sample_neighbors(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    return _sampled(rowptr, len(fanouts))


def _sample_neighbors_typed(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, node_ptr: Tensor, edge_ptr: Tensor, rel_row_off: Tensor,
    rel_src_type: Tensor, rel_dst_type: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[List[Tensor], List[Tensor], List[Tensor], Tensor, Tensor]:
    # grouped: per node type its sampled nodes, per relation its edges; every count depends on the data
    ctx = torch.library.get_ctx()
    num_types, num_rel = int(node_ptr.size(0)) - 1, int(rel_dst_type.size(0))
    new = rowptr.new_empty
    n_id = [new((ctx.new_dynamic_size(),), dtype=torch.long) for _ in range(num_types)]
    edges = [ctx.new_dynamic_size() for _ in range(num_rel)]
    hops = len(fanouts) // max(num_rel, 1)
    return (n_id, [new((2, e), dtype=torch.long) for e in edges], [new((e,), dtype=torch.long) for e in edges],
            new((hops + 1,), dtype=torch.long), new((hops,), dtype=torch.long))


def _random_walk(rowptr: Tensor, col: Tensor, start: Tensor, walk_length: int, p: float, q: float,
                 seed: int) -> Tuple[Tensor, Tensor]:
    b = start.size(0)
    return (rowptr.new_empty((b, walk_length + 1), dtype=torch.long),
            rowptr.new_empty((b, walk_length), dtype=torch.long))


def _induced_subgraph(rowptr: Tensor, col: Tensor, perm: Tensor, nodes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    edges = torch.library.get_ctx().new_dynamic_size()  # the edges kept depend on the data
    new = rowptr.new_empty
    return (new((nodes.size(0) + 1,), dtype=torch.long), new((edges,), dtype=torch.long),
            new((edges,), dtype=torch.long))


def _saint_sample(rowptr: Tensor, col: Tensor, edge_cdf: Optional[Tensor], kind: str, batch_size: int,
                  walk_length: int, seed: int) -> Tensor:
    return rowptr.new_empty((torch.library.get_ctx().new_dynamic_size(),), dtype=torch.long)  # unique nodes drawn


def _shadow_k_hop(rowptr: Tensor, col: Tensor, perm: Tensor, roots: Tensor, depth: int, num_neighbors: int,
                  replace: bool, seed: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    ctx = torch.library.get_ctx()
    nodes, edges = ctx.new_dynamic_size(), ctx.new_dynamic_size()
    new, b = rowptr.new_empty, roots.size(0)
    return (new((b + 1,), dtype=torch.long), new((nodes,), dtype=torch.long), new((b + 1,), dtype=torch.long),
            new((2, edges), dtype=torch.long), new((edges,), dtype=torch.long))


def _segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    return x.new_empty((x.size(0), weight.size(2)))


def _segment_matmul_wgrad(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    return x.new_empty((ptr.size(0) - 1, x.size(1), grad.size(1)))


_FAKES: Dict[str, Callable[..., object]] = {
    "csr_reduce": _csr_reduce,
    "csr_reduce_epilogue": _csr_reduce_epilogue,
    "sddmm": _sddmm,
    "edge_softmax_fwd": _softmax_fwd,
    "edge_softmax_bwd": _softmax_bwd,
    "arg_scatter": _arg_scatter,
    "arg_scatter_weight": _arg_scatter_weight,
    "gather_rows": _gather_rows,
    "gather_rows_uva": _gather_rows_uva,
    "sample_neighbors": _sample_neighbors,
    "sample_neighbors_typed": _sample_neighbors_typed,
    "random_walk": _random_walk,
    "induced_subgraph": _induced_subgraph,
    "saint_sample": _saint_sample,
    "shadow_k_hop": _shadow_k_hop,
    "segment_matmul": _segment_matmul,
    "segment_matmul_wgrad": _segment_matmul_wgrad,
    "dense_mm": _dense_mm,
    "relu_backward": _relu_backward,
}


def register() -> List[str]:
    """Register the fake implementation of every loaded ``graphkit`` op that has one; returns their names.

    Ops a build lacks are skipped, so an older ``_C`` still loads. Called once, by ``_backend``.
    """
    done = []
    for name, fn in _FAKES.items():
        if hasattr(torch.ops.graphkit, name):
            torch.library.register_fake(f"graphkit::{name}", fn)
            done.append(name)
    return done
