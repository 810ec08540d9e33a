r"""``SchNet`` (Schütt et al., "SchNet: A continuous-filter convolutional neural network for modeling quantum
interactions"), on graphkit's ``radius_graph`` and scatter kernel, with PyG's module layout so that PyG's
``state_dict`` loads unchanged."""
from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit import ops
from graphkit.batch import Batch
from graphkit.data.pointcloud import radius_graph
from graphkit.graph import Graph
from graphkit.nn.conv.cf_conv import CFConv

__all__ = ["SchNet", "GaussianSmearing", "ShiftedSoftplus", "RadiusInteractionGraph", "molecule_inputs"]

_READOUTS = {"add": "sum", "sum": "sum", "mean": "mean", "max": "max", "min": "min"}


def molecule_inputs(z: Union[Tensor, Graph], pos: Optional[Tensor], batch: Optional[Tensor]
                    ) -> Tuple[Tensor, Tensor, Tensor]:
    """``(z, pos, batch)`` of a molecule model: given as tensors, or read from a ``Graph``/``Batch`` with ``z``
    and ``pos`` fields (then ``batch`` is the ``Batch``'s). ``batch`` defaults to one molecule."""
    if isinstance(z, Graph):
        g = z
        if "z" not in g.keys() or "pos" not in g.keys():
            raise ValueError(f"a molecule graph needs fields z and pos, got {sorted(g.keys())}")
        z, pos = g["z"], g["pos"]
        batch = g.batch if isinstance(g, Batch) and batch is None else batch
    if pos is None or pos.dim() != 2 or pos.size(-1) != 3 or pos.size(0) != z.numel():
        raise ValueError(f"pos must be [{z.numel()}, 3] (one 3-D position per atom), got "
                         f"{None if pos is None else list(pos.shape)}")
    if z.dim() != 1 or z.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"z must be a [N] integer tensor of atomic numbers, got {z.dtype} {list(z.shape)}")
    if z.numel() and (int(z.min()) < 0 or int(z.max()) >= 100):
        raise ValueError(f"z holds atomic numbers in [0, 100), got values from {int(z.min())} to {int(z.max())}")
    if batch is None:
        batch = torch.zeros_like(z, dtype=torch.long)
    elif batch.numel() != z.numel():
        raise ValueError(f"batch must have shape [{z.numel()}], got {list(batch.shape)}")
    return z.long(), pos, batch.long()


class ShiftedSoftplus(torch.nn.Module):
    r""":math:`\mathrm{ssp}(x) = \ln(1 + e^x) - \ln 2` (zero at zero).

    Shapes:
        ``(*)`` -> ``(*)``.

    >>> ShiftedSoftplus()(torch.zeros(1)).tolist()
    [0.0]
    """

    def __init__(self) -> None:
        super().__init__()
        # ln 2 rounded to float32, as PyG (and SchNetPack) compute it: with the exact value a float64 model
        # would differ from PyG's by 2e-9 per activation.
        self.shift = float(torch.tensor(2.0).log())

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x) - self.shift


class GaussianSmearing(torch.nn.Module):
    r"""Expand distances in ``num_gaussians`` Gaussians with centres :math:`\mu_k` evenly spaced on
    ``[start, stop]``: :math:`e_k(d) = \exp\!\big(-\tfrac{(d - \mu_k)^2}{2 \Delta^2}\big)`, :math:`\Delta` the spacing.
    The centres are the buffer ``offset`` (as in PyG).

    Shapes:
        dist ``(E,)`` -> ``(E, num_gaussians)``.

    >>> GaussianSmearing(0.0, 1.0, 3)(torch.tensor([0.5])).tolist()
    [[0.6065306663513184, 1.0, 0.6065306663513184]]
    """

    def __init__(self, start: float = 0.0, stop: float = 5.0, num_gaussians: int = 50) -> None:
        super().__init__()
        offset = torch.linspace(start, stop, num_gaussians)
        # The width comes from the float32 grid, as PyG computes it, so both expand distances identically.
        self.coeff = -0.5 / (offset[1] - offset[0]).item() ** 2
        self.register_buffer("offset", offset)

    def forward(self, dist: Tensor) -> Tensor:
        return torch.exp(self.coeff * (dist.view(-1, 1) - self.offset.view(1, -1)).pow(2))


class RadiusInteractionGraph(torch.nn.Module):
    r"""The interaction graph of a molecule: every pair of atoms of the same molecule within ``cutoff``
    (:func:`graphkit.data.radius_graph`, at most ``max_num_neighbors`` nearest per atom), with its distances.

    Shapes:
        pos ``(N, 3)``, batch ``(N,)`` -> edge_index ``(2, E)``, distances ``(E,)``.

    >>> pos = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0]])
    >>> edge_index, dist = RadiusInteractionGraph(cutoff=2.0)(pos, torch.zeros(3, dtype=torch.long))
    >>> edge_index.tolist(), dist.tolist()
    ([[1, 0], [0, 1]], [1.0, 1.0])
    """

    def __init__(self, cutoff: float = 10.0, max_num_neighbors: int = 32) -> None:
        super().__init__()
        self.cutoff, self.max_num_neighbors = cutoff, max_num_neighbors

    def forward(self, pos: Tensor, batch: Tensor) -> Tuple[Tensor, Tensor]:
        edge_index = radius_graph(pos.detach(), r=self.cutoff, batch=batch, max_num_neighbors=self.max_num_neighbors)
        return edge_index, (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)


class InteractionBlock(torch.nn.Module):
    r"""One SchNet interaction: :math:`\mathbf{W}\,\mathrm{ssp}(\mathrm{CFConv}(\mathbf{h}))` (added to
    :math:`\mathbf{h}` by :class:`SchNet`). The filter network ``mlp`` is the ``conv``'s ``nn`` (one module, two
    names in the state_dict, as in PyG)."""

    def __init__(self, hidden_channels: int, num_gaussians: int, num_filters: int, cutoff: float) -> None:
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(num_gaussians, num_filters), ShiftedSoftplus(),
                                       torch.nn.Linear(num_filters, num_filters))
        self.conv = CFConv(hidden_channels, hidden_channels, num_filters, self.mlp, cutoff)
        self.act = ShiftedSoftplus()
        self.lin = torch.nn.Linear(hidden_channels, hidden_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.mlp[0], self.mlp[2], self.lin):
            torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
        self.conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor, edge_attr: Tensor) -> Tensor:
        return self.lin(self.act(self.conv(x, edge_index, edge_weight, edge_attr)))


class SchNet(torch.nn.Module):
    r"""SchNet: atom embeddings refined by ``num_interactions`` continuous-filter convolutions over the atoms
    within ``cutoff``, then an atom-wise MLP summed (``readout``) per molecule:

    .. math::
        \mathbf{h}^{(0)}_i = \mathbf{E}_{z_i},\quad
        \mathbf{h}^{(t+1)}_i = \mathbf{h}^{(t)}_i + \mathbf{W}^{(t)}\,\mathrm{ssp}\Big(\mathrm{CFConv}^{(t)}\big(
            \mathbf{h}^{(t)}, \{e_k(d_{ij})\}\big)_i\Big),\quad
        y_g = \sum_{i \in g} \mathbf{w}_2^\top \mathrm{ssp}(\mathbf{W}_1 \mathbf{h}^{(T)}_i)

    with Gaussian-expanded distances :math:`e_k` (:class:`GaussianSmearing`) and shifted softplus ``ssp``. With
    ``mean``/``std`` the atom outputs are rescaled (:math:`y \cdot \mathrm{std} + \mathrm{mean}`), with ``atomref``
    (``[100, 1]``) per-element offsets are added before the readout. ``interaction_graph`` (default
    :class:`RadiusInteractionGraph`) maps ``(pos, batch)`` to ``(edge_index, distances)``.

    Same arguments, modules and state_dict as PyG's ``SchNet``. Not supported: ``dipole=True`` (PyG takes the
    atomic masses from ``ase``) and ``from_qm9_pretrained`` (a download).

    Called as ``model(z, pos, batch)`` or ``model(graph)`` for a ``Graph``/``Batch`` with fields ``z`` and ``pos``.

    Shapes:
        z ``(N,)`` atomic numbers, pos ``(N, 3)``, batch ``(N,)`` -> ``(B, 1)``.

    >>> _ = torch.manual_seed(0)
    >>> model = SchNet(hidden_channels=16, num_filters=16, num_interactions=2, num_gaussians=10, cutoff=3.0)
    >>> z, pos = torch.tensor([8, 1, 1, 6, 1]), torch.randn(5, 3)
    >>> model(z, pos, torch.tensor([0, 0, 0, 1, 1])).shape
    torch.Size([2, 1])
    """

    def __init__(self, hidden_channels: int = 128, num_filters: int = 128, num_interactions: int = 6,
                 num_gaussians: int = 50, cutoff: float = 10.0, interaction_graph: Optional[Callable] = None,
                 max_num_neighbors: int = 32, readout: str = "add", dipole: bool = False,
                 mean: Optional[float] = None, std: Optional[float] = None, atomref: Optional[Tensor] = None) -> None:
        super().__init__()
        if dipole:
            raise ValueError("dipole=True is not supported: it needs ase's atomic masses (use readout on the "
                             "atom-wise dipole contributions instead)")
        if readout not in _READOUTS:
            raise ValueError(f"readout must be one of {sorted(_READOUTS)}, got {readout!r}")
        self.hidden_channels, self.num_filters, self.num_interactions = hidden_channels, num_filters, num_interactions
        self.num_gaussians, self.cutoff, self.dipole = num_gaussians, cutoff, dipole
        self.readout, self.mean, self.std, self.scale = readout, mean, std, None
        self.embedding = torch.nn.Embedding(100, hidden_channels, padding_idx=0)
        self.interaction_graph = interaction_graph or RadiusInteractionGraph(cutoff, max_num_neighbors)
        self.distance_expansion = GaussianSmearing(0.0, cutoff, num_gaussians)
        self.interactions = torch.nn.ModuleList(
            InteractionBlock(hidden_channels, num_gaussians, num_filters, cutoff) for _ in range(num_interactions))
        self.lin1 = torch.nn.Linear(hidden_channels, hidden_channels // 2)
        self.act = ShiftedSoftplus()
        self.lin2 = torch.nn.Linear(hidden_channels // 2, 1)
        self.register_buffer("initial_atomref", atomref)
        self.atomref = torch.nn.Embedding(100, 1) if atomref is not None else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        for block in self.interactions:
            block.reset_parameters()
        for lin in (self.lin1, self.lin2):
            torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
        if self.atomref is not None:
            with torch.no_grad():
                self.atomref.weight.copy_(self.initial_atomref)

    def forward(self, z: Union[Tensor, Graph], pos: Optional[Tensor] = None, batch: Optional[Tensor] = None
                ) -> Tensor:
        z, pos, batch = molecule_inputs(z, pos, batch)
        h = self.embedding(z)
        edge_index, dist = self.interaction_graph(pos, batch)
        expanded = self.distance_expansion(dist)
        for block in self.interactions:
            h = h + block(h, edge_index, dist, expanded)
        h = self.lin2(self.act(self.lin1(h)))
        if self.mean is not None and self.std is not None:
            h = h * self.std + self.mean
        if self.atomref is not None:
            h = h + self.atomref(z)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        out = ops.scatter(h, batch, num_graphs, reduce=_READOUTS[self.readout])
        return self.scale * out if self.scale is not None else out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(hidden_channels={self.hidden_channels}, num_filters={self.num_filters}, "
                f"num_interactions={self.num_interactions}, num_gaussians={self.num_gaussians}, "
                f"cutoff={self.cutoff})")


