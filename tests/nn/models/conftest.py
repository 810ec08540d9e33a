"""Inputs for the molecular models: a small batch of random molecules, and PyG's models pointed at graphkit's
``radius_graph`` (PyG's own needs pyg-lib or torch-cluster, which the peers do not install)."""
from __future__ import annotations

from typing import Callable, Tuple

import pytest
import torch
from torch import Tensor

from graphkit.data.pointcloud import radius_graph


@pytest.fixture
def molecules() -> Callable[[torch.dtype], Tuple[Tensor, Tensor, Tensor]]:
    def make(dtype: torch.dtype = torch.float64) -> Tuple[Tensor, Tensor, Tensor]:
        gen = torch.Generator().manual_seed(7)
        sizes = (5, 9, 3, 1)
        z = torch.tensor([1, 6, 7, 8, 9])[torch.randint(0, 5, (sum(sizes),), generator=gen)]
        batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        # Atoms on a jittered grid with 1.1 A spacing: no two closer than ~0.7 A, as in a real molecule.
        grid = torch.stack(torch.meshgrid(*[torch.arange(3)] * 3, indexing="ij"), -1).view(-1, 3).double() * 1.1
        pos = torch.cat([grid[torch.randperm(27, generator=gen)[:n]] for n in sizes])
        pos = pos + 0.15 * torch.randn(pos.shape, generator=gen, dtype=torch.float64)
        return z, pos.to(dtype), batch

    return make


@pytest.fixture
def pyg_on_our_radius_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    pyg = pytest.importorskip("torch_geometric")
    import torch_geometric.nn.models.dimenet as pyg_dimenet
    import torch_geometric.nn.models.schnet as pyg_schnet

    def ours(pos: Tensor, r: float, batch: Tensor = None, loop: bool = False, max_num_neighbors: int = 32,
             **_: object) -> Tensor:
        return radius_graph(pos.detach(), r, batch, loop, max_num_neighbors)

    monkeypatch.setattr(pyg_schnet, "radius_graph", ours)
    monkeypatch.setattr(pyg_dimenet, "radius_graph", ours)
    assert pyg is not None
