r"""``DimeNet`` (Gasteiger et al., "Directional Message Passing for Molecular Graphs") and ``DimeNetPlusPlus``
(Gasteiger et al., "Fast and Uncertainty-Aware Directional Message Passing for Non-Equilibrium Molecules"):
directional message passing over the edges of the ``radius_graph``, with the triplets :math:`k \to j \to i` from
:func:`graphkit.utils.triplets` and every neighbourhood sum on graphkit's scatter kernel. Modules and state_dicts
as PyG's ``DimeNet`` / ``DimeNetPlusPlus``."""
from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.data.pointcloud import radius_graph
from graphkit.graph import Graph
from graphkit.nn.inits import glorot_orthogonal
from graphkit.nn.models.dimenet_basis import BesselBasisLayer, SphericalBasisLayer
from graphkit.nn.models.schnet import molecule_inputs
from graphkit.nn.normalization.resolver import activation_resolver
from graphkit.utils.triplets import Triplets, triplets

__all__ = ["DimeNet", "DimeNetPlusPlus"]

Linear = torch.nn.Linear


def _init(*lins: torch.nn.Linear) -> None:
    """DimeNet's initialisation: scaled orthogonal weights, zero biases."""
    for lin in lins:
        glorot_orthogonal(lin.weight, scale=2.0)
        if lin.bias is not None:
            torch.nn.init.zeros_(lin.bias)


class EmbeddingBlock(torch.nn.Module):
    r"""The first message of edge :math:`j \to i`: :math:`\sigma(\mathbf{W}[\mathbf{h}_{z_i} \Vert \mathbf{h}_{z_j}
    \Vert \sigma(\mathbf{W}_{rbf} \mathbf{e}_{ji})])`."""

    def __init__(self, num_radial: int, hidden_channels: int, act: Callable) -> None:
        super().__init__()
        self.act = act
        self.emb = torch.nn.Embedding(95, hidden_channels)
        self.lin_rbf = Linear(num_radial, hidden_channels)
        self.lin = Linear(3 * hidden_channels, hidden_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.emb.weight.uniform_(-math.sqrt(3), math.sqrt(3))
        self.lin_rbf.reset_parameters()
        self.lin.reset_parameters()

    def forward(self, z: Tensor, rbf: Tensor, i: Tensor, j: Tensor) -> Tensor:
        h = self.emb(z)
        return self.act(self.lin(torch.cat([h[i], h[j], self.act(self.lin_rbf(rbf))], dim=-1)))


class ResidualLayer(torch.nn.Module):
    r""":math:`\mathbf{m} + \sigma(\mathbf{W}_2 \sigma(\mathbf{W}_1 \mathbf{m}))`."""

    def __init__(self, hidden_channels: int, act: Callable) -> None:
        super().__init__()
        self.act = act
        self.lin1, self.lin2 = Linear(hidden_channels, hidden_channels), Linear(hidden_channels, hidden_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init(self.lin1, self.lin2)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.act(self.lin2(self.act(self.lin1(x))))


class _InteractionBase(torch.nn.Module):
    """What both interaction blocks share: the edge transforms ``lin_kj``/``lin_ji`` and the residual tail
    (``layers_before_skip`` -> ``act(lin(h)) + x`` -> ``layers_after_skip``)."""

    def __init__(self, hidden_channels: int, num_before_skip: int, num_after_skip: int, act: Callable) -> None:
        super().__init__()
        self.act = act
        self.lin_kj = Linear(hidden_channels, hidden_channels)
        self.lin_ji = Linear(hidden_channels, hidden_channels)
        self.layers_before_skip = torch.nn.ModuleList(ResidualLayer(hidden_channels, act)
                                                      for _ in range(num_before_skip))
        self.lin = Linear(hidden_channels, hidden_channels)
        self.layers_after_skip = torch.nn.ModuleList(ResidualLayer(hidden_channels, act)
                                                     for _ in range(num_after_skip))

    def reset_shared(self) -> None:
        _init(self.lin_kj, self.lin_ji, self.lin)
        for layer in (*self.layers_before_skip, *self.layers_after_skip):
            layer.reset_parameters()

    def skip(self, x: Tensor, h: Tensor) -> Tensor:
        for layer in self.layers_before_skip:
            h = layer(h)
        h = self.act(self.lin(h)) + x
        for layer in self.layers_after_skip:
            h = layer(h)
        return h


class InteractionBlock(_InteractionBase):
    r"""DimeNet's interaction: each :math:`\mathbf{m}_{kj}` enters the message of :math:`j \to i` through a
    bilinear layer of the spherical basis:

    .. math::
        \mathbf{m}'_{ji} = \mathrm{Res}\Big(\sigma(\mathbf{W}\,\mathrm{Res}(\sigma(\mathbf{W}_{ji}\mathbf{m}_{ji})
            + \textstyle\sum_k \mathcal{W} \times_1 (\mathbf{W}_{sbf}\mathbf{a}_{kj,ji}) \times_2
            (\sigma(\mathbf{W}_{kj}\mathbf{m}_{kj}) \odot \mathbf{W}_{rbf}\mathbf{e}_{kj}))) + \mathbf{m}_{ji}\Big)

    with the learned tensor :math:`\mathcal{W}` (parameter ``W``, ``[H, num_bilinear, H]``).
    """

    def __init__(self, hidden_channels: int, num_bilinear: int, num_spherical: int, num_radial: int,
                 num_before_skip: int, num_after_skip: int, act: Callable) -> None:
        super().__init__(hidden_channels, num_before_skip, num_after_skip, act)
        self.lin_rbf = Linear(num_radial, hidden_channels, bias=False)
        self.lin_sbf = Linear(num_spherical * num_radial, num_bilinear, bias=False)
        self.W = torch.nn.Parameter(torch.empty(hidden_channels, num_bilinear, hidden_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init(self.lin_rbf, self.lin_sbf)
        with torch.no_grad():
            self.W.normal_(mean=0, std=2 / self.W.size(0))
        self.reset_shared()

    def forward(self, x: Tensor, rbf: Tensor, sbf: Tensor, idx_kj: Tensor, idx_ji: Tensor) -> Tensor:
        x_kj = (self.act(self.lin_kj(x)) * self.lin_rbf(rbf))[idx_kj]
        x_kj = torch.einsum("tb,th,obh->to", self.lin_sbf(sbf), x_kj, self.W)
        return self.skip(x, self.act(self.lin_ji(x)) + ops.scatter(x_kj, idx_ji, x.size(0)))


class InteractionPPBlock(_InteractionBase):
    r"""DimeNet++'s interaction: the message of :math:`j \to i` gathers those of every :math:`k \to j`, each
    weighted by its radial and spherical basis through low-rank projections:

    .. math::
        \mathbf{m}'_{ji} = \mathrm{Res}\Big(\sigma(\mathbf{W}\,\mathrm{Res}(\sigma(\mathbf{W}_{ji}\mathbf{m}_{ji})
            + \sigma(\mathbf{W}_{up} \textstyle\sum_k \sigma(\mathbf{W}_{down}(\sigma(\mathbf{W}_{kj}\mathbf{m}_{kj})
            \odot \mathbf{W}_{rbf}\mathbf{e}_{kj})) \odot \mathbf{W}_{sbf}\mathbf{a}_{kj,ji})))
            + \mathbf{m}_{ji}\Big)
    """

    def __init__(self, hidden_channels: int, int_emb_size: int, basis_emb_size: int, num_spherical: int,
                 num_radial: int, num_before_skip: int, num_after_skip: int, act: Callable) -> None:
        super().__init__(hidden_channels, num_before_skip, num_after_skip, act)
        self.lin_rbf1 = Linear(num_radial, basis_emb_size, bias=False)
        self.lin_rbf2 = Linear(basis_emb_size, hidden_channels, bias=False)
        self.lin_sbf1 = Linear(num_spherical * num_radial, basis_emb_size, bias=False)
        self.lin_sbf2 = Linear(basis_emb_size, int_emb_size, bias=False)
        self.lin_down = Linear(hidden_channels, int_emb_size, bias=False)
        self.lin_up = Linear(int_emb_size, hidden_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init(self.lin_rbf1, self.lin_rbf2, self.lin_sbf1, self.lin_sbf2, self.lin_down, self.lin_up)
        self.reset_shared()

    def forward(self, x: Tensor, rbf: Tensor, sbf: Tensor, idx_kj: Tensor, idx_ji: Tensor) -> Tensor:
        x_ji = self.act(self.lin_ji(x))
        x_kj = self.act(self.lin_down(self.act(self.lin_kj(x)) * self.lin_rbf2(self.lin_rbf1(rbf))))
        x_kj = x_kj[idx_kj] * self.lin_sbf2(self.lin_sbf1(sbf))
        x_kj = self.act(self.lin_up(ops.scatter(x_kj, idx_ji, x.size(0), reduce="sum")))
        return self.skip(x, x_ji + x_kj)


class OutputBlock(torch.nn.Module):
    r"""Per-atom output of one block: :math:`\mathbf{W}\,\mathrm{MLP}(\sum_j \mathbf{W}_{rbf}\mathbf{e}_{ji} \odot
    \mathbf{m}_{ji})` (DimeNet++ projects the sum with ``lin_up`` to ``out_emb_channels`` first);
    ``output_initializer`` ``"zeros"`` (the default) starts the last layer at zero."""

    def __init__(self, num_radial: int, hidden_channels: int, out_channels: int, num_layers: int, act: Callable,
                 output_initializer: str = "zeros", out_emb_channels: Optional[int] = None) -> None:
        super().__init__()
        if output_initializer not in ("zeros", "glorot_orthogonal"):
            raise ValueError(f"output_initializer must be 'zeros' or 'glorot_orthogonal', got {output_initializer!r}")
        self.act, self.output_initializer = act, output_initializer
        self.lin_rbf = Linear(num_radial, hidden_channels, bias=False)
        width = hidden_channels
        if out_emb_channels is not None:
            self.lin_up = Linear(hidden_channels, out_emb_channels, bias=False)
            width = out_emb_channels
        self.lins = torch.nn.ModuleList(Linear(width, width) for _ in range(num_layers))
        self.lin = Linear(width, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init(self.lin_rbf, *([self.lin_up] if hasattr(self, "lin_up") else []), *self.lins)
        if self.output_initializer == "zeros":
            torch.nn.init.zeros_(self.lin.weight)
        else:
            _init(self.lin)

    def forward(self, x: Tensor, rbf: Tensor, i: Tensor, num_nodes: int) -> Tensor:
        h = ops.scatter(self.lin_rbf(rbf) * x, i, num_nodes, reduce="sum")
        if hasattr(self, "lin_up"):
            h = self.lin_up(h)
        for lin in self.lins:
            h = self.act(lin(h))
        return self.lin(h)


class OutputPPBlock(OutputBlock):
    """DimeNet++'s output block: :class:`OutputBlock` with the ``lin_up`` projection to ``out_emb_channels``."""

    def __init__(self, num_radial: int, hidden_channels: int, out_emb_channels: int, out_channels: int,
                 num_layers: int, act: Callable, output_initializer: str = "zeros") -> None:
        super().__init__(num_radial, hidden_channels, out_channels, num_layers, act, output_initializer,
                         out_emb_channels=out_emb_channels)


class DimeNet(torch.nn.Module):
    r"""DimeNet: messages live on the directed edges :math:`j \to i` of the radius graph; each of ``num_blocks``
    interactions updates :math:`\mathbf{m}_{ji}` from the messages :math:`\mathbf{m}_{kj}` of the edges into
    :math:`j`, weighted by the radial basis :math:`\mathbf{e}` of :math:`d_{kj}` and the spherical basis
    :math:`\mathbf{a}` of :math:`(d_{kj}, \alpha)` (:class:`~.dimenet_basis.SphericalBasisLayer`):

    .. math::
        \mathbf{m}^{(t+1)}_{ji} = f_{\mathrm{int}}\big(\mathbf{m}^{(t)}_{ji}, \{(\mathbf{m}^{(t)}_{kj},
            \mathbf{e}_{kj}, \mathbf{a}_{kj,ji}) : k \in \mathcal{N}(j) \setminus \{i\}\}\big),\qquad
        y_g = \sum_{i \in g} \sum_{t=0}^{T} f^{(t)}_{\mathrm{out}}\big(\{\mathbf{m}^{(t)}_{ji}\}_j\big)

    :math:`f_{\mathrm{int}}` is :class:`InteractionBlock` (a bilinear layer of width ``num_bilinear``). The angle
    is PyG's: between :math:`\mathbf{p}_j - \mathbf{p}_i` and :math:`\mathbf{p}_k - \mathbf{p}_i`. The triplets
    come from :func:`graphkit.utils.triplets` (vectorised), the neighbourhood sums from graphkit's scatter kernel.
    Same arguments, modules and state_dict as PyG's ``DimeNet`` (not ``from_qm9_pretrained``, a download). Called
    as ``model(z, pos, batch)`` or ``model(graph)`` for a ``Graph``/``Batch`` with fields ``z`` and ``pos``.

    Shapes:
        z ``(N,)`` atomic numbers (< 95), pos ``(N, 3)``, batch ``(N,)`` -> ``(B, out_channels)``
        (``(out_channels,)`` when ``batch`` is not given, as in PyG).

    >>> _ = torch.manual_seed(0)
    >>> model = DimeNet(8, 1, num_blocks=1, num_bilinear=2, num_spherical=3, num_radial=2, cutoff=3.0)
    >>> model(torch.tensor([8, 1, 1]), torch.tensor([[0.0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])).shape
    torch.Size([1])
    """

    def __init__(self, hidden_channels: int, out_channels: int, num_blocks: int, num_bilinear: int,
                 num_spherical: int, num_radial: int, cutoff: float = 5.0, max_num_neighbors: int = 32,
                 envelope_exponent: int = 5, num_before_skip: int = 1, num_after_skip: int = 2,
                 num_output_layers: int = 3, act: Union[str, Callable] = "swish",
                 output_initializer: str = "zeros") -> None:
        super().__init__()
        if num_spherical < 2:
            raise ValueError(f"num_spherical must be at least 2, got {num_spherical}")
        act = activation_resolver(act)
        self.cutoff, self.max_num_neighbors, self.num_blocks = cutoff, max_num_neighbors, num_blocks
        self.rbf = BesselBasisLayer(num_radial, cutoff, envelope_exponent)
        self.sbf = SphericalBasisLayer(num_spherical, num_radial, cutoff, envelope_exponent)
        self.emb = EmbeddingBlock(num_radial, hidden_channels, act)
        self.output_blocks = torch.nn.ModuleList(
            OutputBlock(num_radial, hidden_channels, out_channels, num_output_layers, act, output_initializer)
            for _ in range(num_blocks + 1))
        self.interaction_blocks = torch.nn.ModuleList(
            InteractionBlock(hidden_channels, num_bilinear, num_spherical, num_radial, num_before_skip,
                             num_after_skip, act) for _ in range(num_blocks))

    def reset_parameters(self) -> None:
        self.rbf.reset_parameters()
        self.emb.reset_parameters()
        for block in (*self.output_blocks, *self.interaction_blocks):
            block.reset_parameters()

    def angles(self, pos: Tensor, t: Triplets) -> Tensor:
        """The angle of each triplet, at :math:`i` between :math:`j` and :math:`k` (DimeNet's convention)."""
        return _angle(pos[t.idx_j] - pos[t.idx_i], pos[t.idx_k] - pos[t.idx_i])

    def forward(self, z: Union[Tensor, Graph], pos: Optional[Tensor] = None, batch: Optional[Tensor] = None
                ) -> Tensor:
        single = batch is None and not isinstance(z, Graph)
        z, pos, batch = molecule_inputs(z, pos, batch)
        if z.numel() and int(z.max()) >= 95:
            raise ValueError(f"z holds atomic numbers below 95 for {type(self).__name__}, got {int(z.max())}")
        n = z.numel()
        edge_index = radius_graph(pos.detach(), r=self.cutoff, batch=batch, max_num_neighbors=self.max_num_neighbors)
        j, i = edge_index[0], edge_index[1]  # messages run j -> i
        t = triplets(edge_index, n)
        dist = (pos[i] - pos[j]).pow(2).sum(dim=-1).sqrt()
        rbf = self.rbf(dist)
        sbf = self.sbf(dist, self.angles(pos, t), t.idx_kj)
        x = self.emb(z, rbf, i, j)
        out = self.output_blocks[0](x, rbf, i, n)
        for interaction, output in zip(self.interaction_blocks, self.output_blocks[1:]):
            x = interaction(x, rbf, sbf, t.idx_kj, t.idx_ji)
            out = out + output(x, rbf, i, n)
        if single:
            return out.sum(dim=0)
        return ops.scatter(out, batch, int(batch.max()) + 1 if n else 0, reduce="sum")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_blocks={self.num_blocks}, cutoff={self.cutoff})"


def _angle(u: Tensor, v: Tensor) -> Tensor:
    """The angle between two batches of 3-D vectors, as ``atan2(|u x v|, u . v)`` (stable near 0 and pi)."""
    return torch.atan2(torch.linalg.cross(u, v, dim=1).norm(dim=-1), (u * v).sum(dim=-1))


class DimeNetPlusPlus(DimeNet):
    r"""DimeNet++: :class:`DimeNet` with cheaper interactions (:class:`InteractionPPBlock`: down-projection to
    ``int_emb_size``, the bases through ``basis_emb_size``, an element-wise product instead of the bilinear
    layer) and output blocks that project to ``out_emb_channels`` (:class:`OutputPPBlock`). The angle of a
    triplet :math:`k \to j \to i` is taken at :math:`j`, between :math:`\mathbf{p}_i - \mathbf{p}_j` and
    :math:`\mathbf{p}_j - \mathbf{p}_k`. Same arguments, modules and state_dict as PyG's ``DimeNetPlusPlus``.

    Shapes:
        z ``(N,)`` atomic numbers (< 95), pos ``(N, 3)``, batch ``(N,)`` -> ``(B, out_channels)``
        (``(out_channels,)`` when ``batch`` is not given, as in PyG).

    >>> _ = torch.manual_seed(0)
    >>> model = DimeNetPlusPlus(8, 1, num_blocks=1, int_emb_size=4, basis_emb_size=2, out_emb_channels=8,
    ...                         num_spherical=3, num_radial=2, cutoff=3.0)
    >>> model(torch.tensor([8, 1, 1]), torch.tensor([[0.0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]),
    ...       torch.zeros(3, dtype=torch.long)).shape
    torch.Size([1, 1])
    """

    def __init__(self, hidden_channels: int, out_channels: int, num_blocks: int, int_emb_size: int,
                 basis_emb_size: int, out_emb_channels: int, num_spherical: int, num_radial: int,
                 cutoff: float = 5.0, max_num_neighbors: int = 32, envelope_exponent: int = 5,
                 num_before_skip: int = 1, num_after_skip: int = 2, num_output_layers: int = 3,
                 act: Union[str, Callable] = "swish", output_initializer: str = "zeros") -> None:
        act = activation_resolver(act)
        super().__init__(hidden_channels, out_channels, num_blocks, 1, num_spherical, num_radial, cutoff,
                         max_num_neighbors, envelope_exponent, num_before_skip, num_after_skip, num_output_layers,
                         act, output_initializer)
        self.output_blocks = torch.nn.ModuleList(
            OutputPPBlock(num_radial, hidden_channels, out_emb_channels, out_channels, num_output_layers, act,
                          output_initializer) for _ in range(num_blocks + 1))
        self.interaction_blocks = torch.nn.ModuleList(
            InteractionPPBlock(hidden_channels, int_emb_size, basis_emb_size, num_spherical, num_radial,
                               num_before_skip, num_after_skip, act) for _ in range(num_blocks))
        self.reset_parameters()

    def angles(self, pos: Tensor, t: Triplets) -> Tensor:
        """The angle of each triplet at :math:`j` (DimeNet++'s convention)."""
        return _angle(pos[t.idx_i] - pos[t.idx_j], pos[t.idx_j] - pos[t.idx_k])
