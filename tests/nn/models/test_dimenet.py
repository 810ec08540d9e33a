"""DimeNet and DimeNet++ against PyG: state_dict, outputs and gradients by positions and parameters on a batch of molecules;
the spherical basis and the vectorised triplets on their own."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.models import DimeNet, DimeNetPlusPlus
from graphkit.nn.models.dimenet_basis import SphericalBasisLayer, spherical_bessel_roots
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg
from graphkit.utils import triplets

SIZE = dict(hidden_channels=16, out_channels=2, num_blocks=2, int_emb_size=8, basis_emb_size=4, out_emb_channels=12,
            num_spherical=4, num_radial=3, cutoff=2.6)
PLAIN_SIZE = dict(hidden_channels=12, out_channels=2, num_blocks=2, num_bilinear=3, num_spherical=4, num_radial=3,
                  cutoff=2.6)


OPTIONS = {"act": "relu", "envelope_exponent": 4, "num_after_skip": 1}


@pytest.mark.parametrize("dtype,kwargs", [(torch.float64, {}), (torch.float32, {}), (torch.float64, OPTIONS)],
                         ids=["float64", "float32", "options"])
def test_dimenet_pp_matches_pyg(dtype, kwargs, molecules, pyg_on_our_radius_graph) -> None:
    pyg = require_peer("torch_geometric")
    z, pos, batch = molecules(dtype)
    # Non-zero output layers, so that the gradients reach every parameter.
    kwargs = {"output_initializer": "glorot_orthogonal", **kwargs}
    call = lambda m, kw: m(z, kw["pos"], batch)  # noqa: E731
    assert_matches_pyg(DimeNetPlusPlus(**SIZE, **kwargs), pyg.nn.DimeNetPlusPlus(**SIZE, **kwargs),
                       Graph(num_nodes=z.numel()), inputs={"pos": pos}, call=call, pyg_call=call, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dimenet_matches_pyg(dtype, molecules, pyg_on_our_radius_graph) -> None:
    pyg = require_peer("torch_geometric")
    z, pos, batch = molecules(dtype)
    kwargs = {**PLAIN_SIZE, "output_initializer": "glorot_orthogonal"}
    call = lambda m, kw: m(z, kw["pos"], batch)  # noqa: E731
    assert_matches_pyg(DimeNet(**kwargs), pyg.nn.DimeNet(**kwargs), Graph(num_nodes=z.numel()),
                       inputs={"pos": pos}, call=call, pyg_call=call, dtype=dtype)


def test_single_molecule_and_graph_call(molecules, pyg_on_our_radius_graph) -> None:
    pyg = require_peer("torch_geometric")
    z, pos, batch = molecules()
    ours, theirs = DimeNetPlusPlus(**SIZE).double(), pyg.nn.DimeNetPlusPlus(**SIZE).double()
    ours.load_state_dict(theirs.state_dict())
    one = batch == 1
    torch.testing.assert_close(ours(z[one], pos[one]), theirs(z[one], pos[one]))
    b = Batch.from_graphs([Graph(z=z[batch == k], pos=pos[batch == k]) for k in range(4)])
    torch.testing.assert_close(ours(b), ours(z, pos, batch))


@pytest.mark.heavy  # PyG derives its basis with sympy: ~20 s at DimeNet++'s default sizes
def test_basis_constants_match_pyg() -> None:
    pyg = require_peer("torch_geometric")
    from torch_geometric.nn.models.dimenet import SphericalBasisLayer as PygSBF
    from torch_geometric.nn.models.dimenet_utils import Jn_zeros

    assert (spherical_bessel_roots(7, 6) == Jn_zeros(7, 6)).all()
    gen = torch.Generator().manual_seed(0)
    dist = torch.rand(40, generator=gen, dtype=torch.float64) * 4 + 0.7
    angle = torch.rand(60, generator=gen, dtype=torch.float64) * torch.pi
    idx = torch.randint(0, 40, (60,), generator=gen)
    ours = SphericalBasisLayer(7, 6, 5.0)(dist, angle, idx)
    theirs = PygSBF(7, 6, 5.0)(dist, angle, idx)
    assert pyg is not None
    torch.testing.assert_close(ours, theirs, atol=1e-10 * theirs.abs().max().item(), rtol=0)


def test_triplets_are_every_two_hop_path() -> None:
    gen = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 7, (2, 30), generator=gen)
    t = triplets(ei, 7)
    expected = {(int(ei[0, kj]), int(ei[1, kj]), int(ei[1, ji]), kj, ji)
                for ji in range(30) for kj in range(30)
                if int(ei[1, kj]) == int(ei[0, ji]) and int(ei[0, kj]) != int(ei[1, ji])}
    got = set(zip(t.idx_k.tolist(), t.idx_j.tolist(), t.idx_i.tolist(), t.idx_kj.tolist(), t.idx_ji.tolist()))
    assert got == expected and len(got) == t.idx_i.numel()


def test_bad_inputs_name_the_field(molecules) -> None:
    z, pos, batch = molecules()
    model = DimeNetPlusPlus(**SIZE)
    with pytest.raises(ValueError, match="below 95"):
        model(z + 90, pos.float(), batch)
    with pytest.raises(ValueError, match="num_spherical must be at least 2"):
        DimeNetPlusPlus(**{**SIZE, "num_spherical": 1})
    with pytest.raises(ValueError, match="output_initializer"):
        DimeNetPlusPlus(**SIZE, output_initializer="ones")
