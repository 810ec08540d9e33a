"""GPSConv against torch_geometric.nn.GPSConv; per-graph attention without a batch-wide N x N matrix."""
from __future__ import annotations

import math

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.attention import GATConv, GPSConv, LinearAttention, PerformerAttention
from graphkit.nn.attention.gps import global_attention
from graphkit.testing import require_peer

SIZES = [5, 9, 1, 7]


def _batch(dtype=torch.float64, channels=8):
    g = torch.Generator().manual_seed(2)
    graphs = []
    for n in SIZES:
        ei = torch.randint(0, n, (2, 3 * n), generator=g)
        graphs.append(Graph(x=torch.randn(n, channels, generator=g, dtype=dtype), edge_index=ei))
    return Batch.from_graphs(graphs)


def _assert_matches_pyg(kwargs, dtype, modes):
    """Our GPSConv and PyG's, same state_dict: outputs and every gradient agree in each of the train ``modes``."""
    pyg = require_peer("torch_geometric")
    torch.manual_seed(0)  # the weights are drawn from the global RNG: fixed, so the case does not depend on test order
    b = _batch(dtype)
    theirs = pyg.nn.GPSConv(8, pyg.nn.GATConv(8, 4, heads=2), **kwargs).to(dtype)
    ours = GPSConv(8, GATConv(8, 4, heads=2), **kwargs).to(dtype)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    for training in modes:
        ours.train(training), theirs.train(training)
        results = []
        for layer, adj in ((ours, b), (theirs, b.edge_index)):
            x = b.x.clone().requires_grad_()
            out = layer(x, adj, batch=b.batch)
            out.pow(3).sum().backward()
            results.append([out, x.grad] + [p.grad for p in layer.parameters()])
            layer.zero_grad()
        for a, c in zip(*results):
            # float32: the cubic loss drives gradients to ~1e2, so an absolute 1e-5 would ask for agreement below
            # one ulp; the tolerance is relative to the tensor's scale (float64 keeps the absolute 1e-10).
            scale = max(1.0, c.abs().max().item()) if dtype == torch.float32 else 1.0
            torch.testing.assert_close(a, c, atol=tol * scale, rtol=tol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "kwargs", [dict(heads=2), dict(heads=4, norm="layer_norm"), dict(heads=1, norm=None, act="gelu", dropout=0.2)]
)
def test_gpsconv_matches_pyg(kwargs, dtype):
    _assert_matches_pyg(kwargs, dtype, (False, True) if kwargs.get("dropout", 0) == 0 else (False,))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("attn_kwargs", [{}, dict(head_channels=4, qkv_bias=True)])
def test_gpsconv_performer_matches_pyg(attn_kwargs, dtype):
    # the random projection is a buffer, so loading PyG's state_dict makes the two layers draw the same features
    _assert_matches_pyg(dict(heads=2, attn_type="performer", attn_kwargs=attn_kwargs), dtype, (False, True))


def test_performer_projection_is_orthogonal_and_redrawn():
    torch.manual_seed(0)
    attn = PerformerAttention(8, heads=2, head_channels=4)
    p = attn.fast_attn.projection_matrix
    assert p.shape == (int(4 * math.log(4)), 4)
    torch.testing.assert_close(p[:4] @ p[:4].t(), torch.eye(4), atol=1e-5, rtol=0)  # one orthonormal block
    before = p.clone()
    attn.redraw_projection_matrix()
    assert not torch.equal(before, attn.fast_attn.projection_matrix)


def test_batch_is_read_from_a_batch_and_graphs_do_not_attend_to_each_other():
    torch.manual_seed(0)
    b = _batch(torch.float32)
    layer = GPSConv(8, None, heads=2, norm=None).eval()
    together = layer(b.x, b)
    apart = torch.cat([layer(g.x, g.edge_index) for g in b.to_graphs()])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-5)


def test_padded_attention_equals_per_graph_dense_attention():
    torch.manual_seed(0)
    b = _batch(torch.float64)
    attn = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    ours = global_attention(b.x, b.batch, attn, training=False)
    ref = torch.cat([attn(g.x[None], g.x[None], g.x[None], need_weights=False)[0][0] for g in b.to_graphs()])
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)


def test_linear_attention_matches_its_formula_per_graph():
    torch.manual_seed(0)
    b = _batch(torch.float64)
    attn = LinearAttention(8, heads=2).double()
    out = attn(b.x, b.batch)
    parts = []
    for g in b.to_graphs():
        q, k, v = attn.in_proj(g.x).view(-1, 3, 2, 4).unbind(1)
        q, k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
        w = torch.einsum("ihd,jhd->hij", q, k)
        o = torch.einsum("hij,jhd->ihd", w / w.sum(-1, keepdim=True), v)
        parts.append(attn.out_proj(o.reshape(-1, 8)))
    torch.testing.assert_close(out, torch.cat(parts), atol=1e-10, rtol=1e-10)
    layer = GPSConv(8, GATConv(8, 8), heads=2, attn_type="linear").double()
    assert layer(b.x, b).shape == b.x.shape


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="attn_type"):
        GPSConv(8, None, attn_type="bigbird")
    with pytest.raises(ValueError, match="norm"):
        GPSConv(8, None, norm="group_norm")
    with pytest.raises(ValueError, match=r"shape \[N, 8\]"):
        GPSConv(8, None)(torch.randn(3, 5), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="sorted"):
        GPSConv(8, None)(torch.randn(3, 8), torch.tensor([[0], [1]]), batch=torch.tensor([1, 0, 1]))
