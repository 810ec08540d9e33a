"""A layer's dense linear map with its bias and ReLU, whose large results reuse resident memory."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops._checks import check_act
from graphkit.ops.adjacency import is_compiling

__all__ = ["linear"]


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, bias: Optional[Tensor], relu: bool
    ) -> Tensor:
        out = K.dense_mm(x, weight.t())
        if bias is not None:
            out.add_(bias)  # in place: out is a fresh product that no backward reads
        if relu:
            out.relu_()
        ctx.relu = relu
        ctx.save_for_backward(x if weight.requires_grad else None, weight, out if relu else None)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        x, weight, out = ctx.saved_tensors
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        # With create_graph (double backward), torch's differentiable ops; otherwise the resident-memory kernels.
        plain = not torch.is_grad_enabled()
        g = grad
        if out is not None:
            g = K.relu_backward(grad, out) if plain else torch.ops.aten.threshold_backward(grad, out, 0)
        gx = (K.dense_mm(g, weight) if plain else g.mm(weight)) if need_x else None
        gw = g.t().mm(x) if need_w else None
        gb = g.sum(0) if need_b else None
        return gx, gw, gb, None


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, act: Optional[str] = None) -> Tensor:
    r""":math:`\mathrm{act}(x W^\top + b)`, as ``F.linear`` (then ``relu`` when ``act="relu"``).

    The difference is where the results live. A full-batch GNN layer's ``[N, F]`` products (and their gradients)
    are tens of MB; torch takes each fresh from ``mmap`` and faults it in 4 KiB pages on first touch, every step.
    On the CPU extension this op puts them on huge pages reused from the previous step (the allocator of the
    ``spmm`` outputs), and applies the bias and the ReLU in place. Elsewhere (any device but the CPU, ``x``
    with more than two dimensions, inside ``torch.compile``, under autocast) it is ``F.linear`` and ``torch.relu``.

    Args:
        x: ``[N, F_in]``. weight: ``[F_out, F_in]``. bias: ``[F_out]`` or ``None``. act: ``None`` or ``"relu"``.

    Shapes:
        x ``(N, F_in)`` -> ``(N, F_out)``.

    >>> x, w = torch.tensor([[1.0, -2.0]]), torch.tensor([[1.0, 1.0], [0.0, -1.0]])
    >>> linear(x, w, torch.tensor([0.5, 0.0]), act="relu")
    tensor([[0., 2.]])
    """
    check_act(act)
    if (x.dim() != 2 or x.device.type != "cpu" or is_compiling() or not x.is_floating_point()
            or torch.is_autocast_enabled(x.device.type)):  # autocast picks the product's dtype: F.linear obeys it
        out = F.linear(x, weight, bias)
        return out if act is None else torch.relu(out)
    if weight.dim() != 2 or weight.size(1) != x.size(1):
        raise ValueError(f"weight must have shape [F_out, {x.size(1)}] for x of shape {list(x.shape)}, got "
                         f"{list(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (weight.size(0),):
        raise ValueError(f"bias must have shape [{weight.size(0)}], got {list(bias.shape)}")
    return _Linear.apply(x, weight, bias, act == "relu")
