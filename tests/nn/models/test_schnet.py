"""SchNet against PyG: state_dict, energies and gradients (by positions and parameters) on a batch of molecules."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.models import SchNet
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kwargs", [{}, {"readout": "mean", "mean": 0.3, "std": 2.0},
                                    {"atomref": torch.linspace(-1, 1, 100).view(100, 1)}],
                         ids=["plain", "mean_std", "atomref"])
def test_schnet_matches_pyg(dtype, kwargs, molecules, pyg_on_our_radius_graph) -> None:
    pyg = require_peer("torch_geometric")
    z, pos, batch = molecules(dtype)
    size = dict(hidden_channels=16, num_filters=12, num_interactions=2, num_gaussians=10, cutoff=2.5)
    call = lambda m, kw: m(z, kw["pos"], batch)  # noqa: E731
    assert_matches_pyg(SchNet(**size, **kwargs), pyg.nn.SchNet(**size, **kwargs), Graph(num_nodes=z.numel()),
                       inputs={"pos": pos}, call=call, pyg_call=call, dtype=dtype)


def test_graph_call_and_single_molecule(molecules) -> None:
    z, pos, batch = molecules()
    model = SchNet(hidden_channels=8, num_filters=8, num_interactions=1, num_gaussians=5, cutoff=2.5).double()
    graphs = [Graph(z=z[batch == i], pos=pos[batch == i]) for i in range(4)]
    out = model(Batch.from_graphs(graphs))
    torch.testing.assert_close(out, model(z, pos, batch))
    torch.testing.assert_close(out[1:2], model(graphs[1]))


def test_bad_inputs_name_the_field(molecules) -> None:
    z, pos, batch = molecules()
    model = SchNet(hidden_channels=8, num_filters=8, num_interactions=1, num_gaussians=5)
    with pytest.raises(ValueError, match=r"pos must be \[18, 3\]"):
        model(z, pos[:, :2], batch)
    with pytest.raises(ValueError, match=r"atomic numbers in \[0, 100\)"):
        model(z + 100, pos, batch)
    with pytest.raises(ValueError, match="readout must be one of"):
        SchNet(readout="median")
    with pytest.raises(ValueError, match="dipole"):
        SchNet(dipole=True)
