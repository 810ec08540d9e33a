"""GraphNorm, InstanceNorm, PairNorm, DiffGroupNorm against PyG (state_dict, output, gradients, running stats)."""
from __future__ import annotations

from typing import Any, Callable

import pytest
import torch

from graphkit.nn import DiffGroupNorm, GraphNorm, InstanceNorm, PairNorm
from graphkit.testing import require_peer

BATCH = torch.tensor([0, 0, 0, 1, 1, 3, 3, 3, 3])  # graph 2 is empty


def _compare(ours: torch.nn.Module, theirs: torch.nn.Module, call: Callable[[Any, torch.Tensor], torch.Tensor],
             dtype: torch.dtype) -> None:
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    x = torch.randn(9, 4, dtype=dtype) * 3 + 1
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = call(ours, xa), call(theirs, xb)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    probe = torch.randn_like(a)
    (a * probe).sum().backward()
    (b * probe).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=tol, rtol=tol, msg=name)
    for (name, u), v in zip(ours.named_buffers(), theirs.buffers()):
        torch.testing.assert_close(u, v, atol=tol, rtol=tol, msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("batched", [False, True])
def test_graph_and_pair_norm_match_pyg(batched: bool, dtype: torch.dtype) -> None:
    pnorm = require_peer("torch_geometric").nn.norm
    call = (lambda m, x: m(x, BATCH, 4)) if batched else (lambda m, x: m(x))
    ours, theirs = GraphNorm(4), pnorm.GraphNorm(4)
    with torch.no_grad():
        theirs.mean_scale.uniform_(0.2, 1.0)
        theirs.weight.uniform_(0.5, 2.0)
    _compare(ours, theirs, call, dtype)
    for kw in ({}, {"scale": 2.0, "scale_individually": True}):
        _compare(PairNorm(**kw), pnorm.PairNorm(**kw), call, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kw", [{}, {"affine": True, "track_running_stats": True}], ids=["plain", "affine_stats"])
@pytest.mark.parametrize("batched", [False, True])
def test_instance_norm_matches_pyg(kw: dict, batched: bool, dtype: torch.dtype) -> None:
    pnorm = require_peer("torch_geometric").nn.norm
    call = (lambda m, x: m(x, BATCH, 4)) if batched else (lambda m, x: m(x))
    ours, theirs = InstanceNorm(4, **kw), pnorm.InstanceNorm(4, **kw)
    _compare(ours, theirs, call, dtype)  # training: per-graph statistics, running averages updated alike
    for name, buf in list(theirs.named_buffers()):  # PyG's running averages keep an autograd history: drop it
        setattr(theirs, name, buf.detach())
    ours.eval(), theirs.eval()
    _compare(ours, theirs, call, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_diff_group_norm_matches_pyg(dtype: torch.dtype) -> None:
    pnorm = require_peer("torch_geometric").nn.norm
    ours, theirs = DiffGroupNorm(4, groups=3, lamda=0.5), pnorm.DiffGroupNorm(4, groups=3, lamda=0.5)
    _compare(ours, theirs, lambda m, x: m(x), dtype)
    ours.eval(), theirs.eval()
    _compare(ours, theirs, lambda m, x: m(x), dtype)
    x, y = torch.randn(12, 4, dtype=dtype), torch.arange(12) % 3
    assert DiffGroupNorm.group_distance_ratio(x, y) == pytest.approx(
        pnorm.DiffGroupNorm.group_distance_ratio(x, y), rel=1e-5)
