"""PowerMean, Quantile and Median aggregation against PyG (values, gradients, empty groups)."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import MedianAggregation, QuantileAggregation
from graphkit.testing import require_peer


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q", [0.3, [0.0, 0.5, 0.9, 1.0]], ids=["one", "four"])
def test_quantile_aggregation_matches_pyg(q: object, interpolation: str) -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    x[5] = x[6]  # ties
    index = torch.randint(0, 9, (40,), generator=gen)  # unsorted, some nodes without messages
    ours, theirs = QuantileAggregation(q, interpolation, fill_value=-2.0), paggr.QuantileAggregation(
        q, interpolation, fill_value=-2.0)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, index, dim_size=11), theirs(xb, index, dim_size=11)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    probe = torch.randn(a.shape, generator=gen, dtype=torch.float64)
    (a * probe).sum().backward()
    (b * probe).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=1e-12, rtol=0)


def test_median_aggregation_matches_pyg_and_rejects_bad_q() -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    x, index = torch.randn(25, 4), torch.randint(0, 6, (25,))
    torch.testing.assert_close(MedianAggregation()(x, index, 7), paggr.MedianAggregation()(x, index, dim_size=7))
    with pytest.raises(ValueError, match=r"quantiles in \[0, 1\]"):
        QuantileAggregation(1.5)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        QuantileAggregation(0.5, "cubic")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_set2set_matches_pyg(dtype: torch.dtype) -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    from graphkit.nn import Set2Set

    tol = 1e-10 if dtype == torch.float64 else 1e-5
    index = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])  # graph 1 is empty
    x = torch.randn(9, 4, dtype=dtype)
    ours, theirs = Set2Set(4, 3).to(dtype), paggr.Set2Set(4, 3).to(dtype)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, index, dim_size=4), theirs(xb, index, dim_size=4)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=tol, rtol=tol)


@pytest.mark.parametrize("k", [2, 6])
def test_sort_aggregation_and_global_sort_pool_match_pyg(k: int) -> None:
    pyg = require_peer("torch_geometric")
    from graphkit.nn import SortAggregation, global_sort_pool

    index = torch.tensor([0, 0, 0, 1, 1, 1, 1, 3])
    x = torch.randn(8, 3, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a = SortAggregation(k)(xa, index, dim_size=4)
    b = pyg.nn.aggr.SortAggregation(k)(xb, index, dim_size=4)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(global_sort_pool(x, index, k), pyg.nn.global_sort_pool(x, index, k))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_lstm_aggregation_matches_pyg(dtype: torch.dtype) -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    from graphkit.nn import LSTMAggregation

    tol = 1e-10 if dtype == torch.float64 else 1e-5
    index = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])
    x = torch.randn(9, 4, dtype=dtype)
    ours, theirs = LSTMAggregation(4, 3).to(dtype), paggr.LSTMAggregation(4, 3).to(dtype)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, index, dim_size=5), theirs(xb, index, dim_size=5)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    with pytest.raises(ValueError, match="sorted"):
        ours(x, index.flip(0))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kw", [{}, {"num_seed_points": 3, "heads": 2, "layer_norm": True, "num_encoder_blocks": 2},
                                {"num_seed_points": 2, "concat": False, "num_decoder_blocks": 0}],
                         ids=["default", "deep", "mean"])
def test_set_transformer_aggregation_matches_pyg(kw: dict, dtype: torch.dtype) -> None:
    paggr = require_peer("torch_geometric").nn.aggr
    from graphkit.nn import SetTransformerAggregation

    tol = 1e-10 if dtype == torch.float64 else 1e-5
    index = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])  # set 1 is empty
    x = torch.randn(9, 4, dtype=dtype)
    ours, theirs = SetTransformerAggregation(4, **kw).to(dtype), paggr.SetTransformerAggregation(4, **kw).to(dtype)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, index, dim_size=5), theirs(xb, index, dim_size=5)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
