r"""EdgeConv and DynamicEdgeConv (Wang et al., "Dynamic Graph CNN for Learning on Point Clouds")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit import ops
from graphkit.graph import Graph
from graphkit.nn.adjacency import Adjacency
from graphkit.nn.aggr import MultiAggregation, is_fusable
from graphkit.nn.conv._utils import as_pair
from graphkit.nn.inits import reset
from graphkit.nn.message_passing import MessagePassing
from graphkit.ops._checks import check_positive_int

__all__ = ["EdgeConv", "DynamicEdgeConv"]


def _split_first_linear(nn: torch.nn.Module) -> Optional[Tuple[Any, Optional[torch.nn.Module]]]:
    """``(first Linear, rest or None)`` when ``nn`` is a Linear or a Sequential that starts with one."""
    if isinstance(nn, torch.nn.Linear):
        return nn, None
    if isinstance(nn, torch.nn.Sequential) and len(nn) > 0 and isinstance(nn[0], torch.nn.Linear):
        return nn[0], (nn[1:] if len(nn) > 1 else None)
    return None


class _ExpandRows(torch.autograd.Function):
    """``p[rows]`` for CSR-sorted ``rows``: the backward is a segment sum (sequential writes) instead of the
    scatter-add that ``index_select``'s backward does."""

    @staticmethod
    def forward(ctx: Any, p: Tensor, rows: Tensor, rowptr: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(rowptr)
        return p.index_select(0, rows)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        (rowptr,) = ctx.saved_tensors
        return ops.segment(grad.contiguous(), rowptr, reduce="sum"), None, None


class EdgeConv(MessagePassing):
    r"""Edge convolution:

    .. math::
        \mathbf{x}'_i = \mathrm{aggr}_{j \in \mathcal{N}(i)}\, h_{\mathbf{\Theta}}\big(\mathbf{x}_i \,\Vert\,
        \mathbf{x}_j - \mathbf{x}_i\big)

    with :math:`h_\Theta` the module ``nn`` (parameters ``nn.*`` as PyG's) and ``aggr`` ``"max"`` by default.

    When ``nn`` starts with a ``Linear`` (a ``Linear`` or a ``Sequential``), that first layer is split, as
    :math:`W [x_i \Vert x_j - x_i] + b = (W_a - W_b) x_i + b + W_b x_j`: two ``N x H`` products instead of one
    ``E x 2F`` concatenation and an ``E x 2F x H`` product, then the rest of ``nn`` runs on the ``E x H``
    messages laid out in CSR order and is reduced by a segment (no sort). Any other ``nn`` takes the message path.

    Shapes:
        x ``(|V|, F_in)`` or a bipartite pair -> ``(|V_t|, F_out)``.
    """

    def __init__(self, nn: torch.nn.Module, aggr: Any = "max", **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.nn = nn

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)

    def forward(self, x: Union[Tensor, Tuple[Tensor, Tensor]], adj: Any, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if x_dst is None:
            raise ValueError("EdgeConv needs target features (x_i), got x_dst=None")
        adj_ = self.adjacency(adj, size, x=(x_src, x_dst))
        split = _split_first_linear(self.nn)
        if split is None or not (self.fuse and is_fusable(self.aggr_module)):
            return self.propagate(adj_, x=(x_src, x_dst))
        return self._split_forward(x_src, x_dst, adj_, *split)

    def _split_forward(self, x_src: Tensor, x_dst: Tensor, adj: Adjacency, first: torch.nn.Linear,
                       rest: Optional[torch.nn.Module]) -> Tensor:
        f_in = x_src.size(-1)
        if first.in_features != 2 * f_in:
            raise ValueError(f"nn's first Linear takes {first.in_features} features but [x_i, x_j - x_i] has {2 * f_in}")
        w_a, w_b = first.weight[:, :f_in], first.weight[:, f_in:]
        p = F.linear(x_dst, w_a - w_b, first.bias)  # the x_i part, once per target
        q = F.linear(x_src, w_b)  # the x_j part, once per source
        rowptr, col, _ = adj.csr()
        deg = rowptr[1:] - rowptr[:-1]
        rows = torch.repeat_interleave(torch.arange(adj.num_dst, device=deg.device), deg, output_size=col.numel())
        msg = _ExpandRows.apply(p, rows, rowptr) + q.index_select(0, col)  # [E, H] in CSR order
        if rest is not None:
            msg = rest(msg)
        module = self.aggr_module
        reduces = [a.reduce for a in module.aggrs] if isinstance(module, MultiAggregation) else [module.reduce]
        outs = [ops.segment(msg, rowptr, reduce=r) for r in reduces]  # type: ignore[arg-type]
        return module.combine(outs) if isinstance(module, MultiAggregation) else outs[0]

    def message(self, x_i: Tensor, x_j: Tensor) -> Tensor:
        return self.nn(torch.cat([x_i, x_j - x_i], dim=-1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"


class DynamicEdgeConv(EdgeConv):
    r"""EdgeConv on a graph rebuilt every call: the ``k`` nearest neighbours of each point *in feature space*
    (the point itself included, as PyG's), from :func:`graphkit.data.knn_graph`, within each graph of the batch.

    .. math:: \mathbf{x}'_i = \mathrm{aggr}_{j \in \mathrm{kNN}(i)}\, h_{\mathbf{\Theta}}\big(\mathbf{x}_i
        \,\Vert\, \mathbf{x}_j - \mathbf{x}_i\big)

    Called as ``layer(x, batch)`` with ``batch`` a ``Batch``/``Graph`` (its ``batch`` vector is used) or a
    ``[N]`` graph-id tensor or ``None``. The kNN search is not differentiated (as in PyG).

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, F_out)``.
    """

    def __init__(self, nn: torch.nn.Module, k: int, aggr: Any = "max", num_workers: int = 1, **kwargs: Any) -> None:
        super().__init__(nn=nn, aggr=aggr, **kwargs)
        check_positive_int("k", k)
        self.k, self.num_workers = k, num_workers

    def knn(self, x: Tensor, batch: Optional[Tensor]) -> Tensor:
        """The dynamic graph: edges ``(neighbour -> point)``, ``k`` per point, self included."""
        from graphkit.data.pointcloud import knn_graph

        return knn_graph(x.detach(), self.k, batch, loop=True, num_workers=self.num_workers)

    def forward(self, x: Tensor, batch: Any = None) -> Tensor:  # type: ignore[override]
        if not isinstance(x, Tensor):
            raise TypeError("DynamicEdgeConv takes one feature tensor x (bipartite inputs are not supported)")
        if isinstance(batch, Graph):
            if x.size(0) != batch.num_nodes:
                raise ValueError(f"x has {x.size(0)} rows but the batch has num_nodes {batch.num_nodes}")
            batch = getattr(batch, "batch", None) if "batch" in dir(type(batch)) else None
        edge_index = self.knn(x, batch)
        return super().forward(x, Graph(edge_index=edge_index, num_nodes=x.size(0)))

    def __repr__(self) -> str:
        return f"DynamicEdgeConv(nn={self.nn}, k={self.k})"
