r"""MeshConv (Hanocka et al., "MeshCNN: A Network with an Edge"): convolution over mesh edges."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.adjacency import Adjacency
from graphkit.nn.message_passing import MessagePassing

__all__ = ["MeshConv", "mesh_neighbours"]


def mesh_neighbours(adj: Any, num_edges: int) -> Tensor:
    """The ``[E_mesh, 4]`` neighbour index ``(a, b, c, d)`` of every mesh edge, from:

    * a ``[E_mesh, 4]`` integer tensor (``-1`` marks a missing neighbour on a boundary);
    * the ``Graph`` of ``graphkit.data.mesh_edge_graph`` (its ``gemm [4, E]`` and ``gemm_mask`` fields; batches too);
    * an ``edge_index [2, 4 E_mesh]`` whose columns ``4i .. 4i+3`` are ``(a(i) -> i), ..., (d(i) -> i)``.
    """
    if isinstance(adj, Graph):
        if "gemm" in adj:  # graphkit.data.mesh_edge_graph: gemm [4, E], gemm_mask [E, 4] (False = missing)
            nbr = adj.gemm.t()
            if "gemm_mask" in adj:
                nbr = torch.where(adj.gemm_mask, nbr, torch.full_like(nbr, -1))
            return mesh_neighbours(nbr, num_edges)
        raise ValueError("a Graph given to MeshConv needs the 'gemm' field of graphkit.data.mesh_edge_graph")
    if not isinstance(adj, Tensor) or adj.is_floating_point() or adj.dim() != 2:
        raise ValueError(f"adj must be a [E_mesh, 4] neighbour index or a [2, 4 E_mesh] edge_index, got {adj!r:.80}")
    if adj.size(0) == num_edges and adj.size(1) == 4:
        nbr = adj.long()
    elif adj.size(0) == 2 and adj.size(1) == 4 * num_edges:
        expected = torch.arange(num_edges, device=adj.device).repeat_interleave(4)
        if not torch.equal(adj[1].long(), expected):
            raise ValueError("edge_index[1] must be (0,0,0,0,1,1,1,1,...): four neighbours per mesh edge, in order")
        nbr = adj[0].long().view(num_edges, 4)
    else:
        raise ValueError(
            f"adj has shape {list(adj.shape)}; expected [{num_edges}, 4] (neighbours) or [2, {4 * num_edges}]"
        )
    if nbr.numel() and (int(nbr.min()) < -1 or int(nbr.max()) >= num_edges):
        raise ValueError(f"mesh neighbour index must lie in [-1, {num_edges}), got [{int(nbr.min())}, {int(nbr.max())}]")
    return nbr


class MeshConv(MessagePassing):
    r"""MeshCNN's edge convolution with its order-invariant (symmetric) neighbour features:

    .. math::
        \mathbf{x}'_e = W_0 \mathbf{x}_e + W_1 |\mathbf{x}_a - \mathbf{x}_c| + W_2 (\mathbf{x}_a + \mathbf{x}_c)
        + W_3 |\mathbf{x}_b - \mathbf{x}_d| + W_4 (\mathbf{x}_b + \mathbf{x}_d)

    where :math:`(a, b)` are the other two edges of one triangle of :math:`e` and :math:`(c, d)` of the other, so
    the result does not depend on which triangle comes first. A missing neighbour (boundary, index ``-1``) reads
    zeros, as MeshCNN pads. Same arguments and parameters (``kernels.0`` ... ``kernels.4``) as PyG's
    ``MeshCNNConv``. Note: PyG's layer gathers ``x_j = x[edge_index[0]]``, so PyG computes this formula when its
    ``edge_index`` columns are ``(neighbour, edge)``; that is the orientation graphkit reads.

    As message passing: every present neighbour sends its features (``message``), and ``aggregate`` places the
    four messages of each edge in their slots ``(a, b, c, d)`` (zeros for a missing one) instead of reducing them,
    since the symmetric functions above need to know which message is which.

    Shapes:
        x ``(|E_mesh|, F_in)``, adj ``(|E_mesh|, 4)`` -> ``(|E_mesh|, F_out)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernels: Optional[torch.nn.ModuleList] = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        if kernels is None:
            kernels = torch.nn.ModuleList([torch.nn.Linear(in_channels, out_channels) for _ in range(5)])
        if not isinstance(kernels, torch.nn.ModuleList) or len(kernels) != 5:
            raise ValueError(f"kernels must be a ModuleList of 5 modules, got {type(kernels).__name__}")
        self.kernels = kernels

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for k in self.kernels:
            if hasattr(k, "reset_parameters"):
                k.reset_parameters()

    def forward(self, x: Tensor, adj: Any) -> Tensor:
        n = x.size(0)
        nbr = mesh_neighbours(adj, n)  # bounds checked there
        present = nbr >= 0
        target = torch.arange(n, device=x.device).view(-1, 1).expand_as(nbr)
        slots = torch.arange(4, device=x.device).expand_as(nbr)
        A = Adjacency(torch.stack([nbr[present], target[present]]), n, n)
        a, b, c, d = self.propagate(A, x=x, slot=slots[present]).unbind(1)
        k = self.kernels
        return k[0](x) + k[1]((a - c).abs()) + k[2](a + c) + k[3]((b - d).abs()) + k[4](b + d)

    def aggregate(self, inputs: Tensor, index: Tensor, slot: Tensor, dim_size: Optional[int] = None) -> Tensor:
        """Messages ``[M, F]`` -> ``[E_mesh, 4, F]``: each in its target's slot, zeros where none arrived."""
        out = inputs.new_zeros(int(dim_size or 0) * 4, inputs.size(1))
        return out.index_copy(0, index * 4 + slot, inputs).view(-1, 4, inputs.size(1))

    def __repr__(self) -> str:
        return f"MeshConv({self.in_channels}, {self.out_channels})"
