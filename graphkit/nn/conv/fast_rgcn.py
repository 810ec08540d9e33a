r"""FastRGCNConv: PyG's name for R-GCN computed edge by edge; here the same relation-batched kernel as RGCNConv."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from graphkit.nn.conv.rgcn import RGCNConv

__all__ = ["FastRGCNConv"]


class FastRGCNConv(RGCNConv):
    r"""R-GCN (the same function, parameters and ``state_dict`` as :class:`RGCNConv`), under PyG's
    ``FastRGCNConv`` name and restrictions (``aggr`` is ``"add"``, ``"sum"`` or ``"mean"``):

    .. math::
        \mathbf{x}'_i = \mathbf{\Theta}_{\mathrm{root}} \mathbf{x}_i + \mathbf{b} +
        \sum_{r \in \mathcal{R}} \frac{1}{c_{i,r}} \sum_{j \in \mathcal{N}_r(i)} \mathbf{\Theta}_r \mathbf{x}_j

    with :math:`c_{i,r} = |\mathcal{N}_r(i)|` for ``"mean"`` and 1 for ``"add"``. PyG's version transforms every
    edge with its gathered weight (``[E, F_in, F_out]`` of weights and an ``[E, F_out]`` message tensor) to avoid
    the loop over relations; :func:`graphkit.ops.relation_spmm` avoids both the loop and the per-edge tensors,
    so this class is :class:`RGCNConv` with PyG's argument check. One difference: for an int ``x`` PyG's
    ``FastRGCNConv`` reads row ``j`` of :math:`\mathbf{\Theta}_r` for source ``j`` whatever ``x[j]`` holds;
    here, as in ``RGCNConv``, it reads row ``x[j]`` (the same for ``x=None``).

    Args:
        in_channels, out_channels, num_relations, num_bases, num_blocks, aggr, root_weight, is_sorted, bias:
            as :class:`RGCNConv`; ``aggr`` must be ``"add"``, ``"sum"`` or ``"mean"``.

    Shapes:
        x ``(|V|, F_in)``, ``(|V|)`` int, ``None`` or a pair; adj ``(2, |E|)``; edge_type ``(|E|)`` ->
        ``(|V_t|, F_out)``.

    >>> import torch
    >>> conv = FastRGCNConv(4, 2, num_relations=3)
    >>> ei, et = torch.tensor([[0, 1, 3], [1, 2, 0]]), torch.tensor([0, 2, 1])
    >>> conv(torch.randn(4, 4), ei, et).shape
    torch.Size([4, 2])
    >>> conv = FastRGCNConv(4, 2, num_relations=3)  # featureless: 4 nodes, one learned row of Theta_r each
    >>> conv(None, ei, et).shape
    torch.Size([4, 2])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, num_relations: int,
                 num_bases: Optional[int] = None, num_blocks: Optional[int] = None, aggr: Any = "mean",
                 root_weight: bool = True, is_sorted: bool = False, bias: bool = True, **kwargs: Any) -> None:
        if aggr not in ("add", "sum", "mean"):
            raise ValueError(f"FastRGCNConv's aggr must be 'add', 'sum' or 'mean', got {aggr!r}")
        super().__init__(in_channels, out_channels, num_relations, num_bases=num_bases, num_blocks=num_blocks,
                         aggr=aggr, root_weight=root_weight, is_sorted=is_sorted, bias=bias, **kwargs)
