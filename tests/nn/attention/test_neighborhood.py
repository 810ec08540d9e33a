"""NeighborhoodAttention2d on the window grid graph against a dense masked reference and the unfold definition."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn.attention import NeighborhoodAttention2d, na2d, neighborhood_graph
from graphkit.nn.attention.reference import na2d_dense, na2d_unfold, window_start

CASES = [  # (H, W, kernel, dilation): odd kernels, dilations, non-square images, image == window, kernel 1
    (7, 9, 3, 1),
    (8, 6, 5, 1),
    (10, 13, 3, 2),
    (11, 9, 3, 3),
    (12, 15, 5, 2),
    (5, 5, 5, 1),
    (6, 14, 3, 2),
    (9, 7, 1, 1),
    (14, 7, 7, 1),
]


def _qkv(h, w, ks, heads=3, b=2, hd=4, dtype=torch.float64, grad=False):
    g = torch.Generator().manual_seed(h * 100 + w * 10 + ks)
    q, k, v = (torch.randn(b, heads, h, w, hd, generator=g, dtype=dtype, requires_grad=grad) for _ in range(3))
    rpb = torch.randn(heads, 2 * ks - 1, 2 * ks - 1, generator=g, dtype=dtype, requires_grad=grad)
    return q, k, v, rpb


@pytest.mark.parametrize("h,w,ks,d", CASES)
def test_na2d_matches_dense_and_unfold_references(h, w, ks, d):
    q, k, v, rpb = _qkv(h, w, ks)
    ours = na2d(q, k, v, ks, d, rpb)
    torch.testing.assert_close(ours, na2d_dense(q, k, v, ks, d, rpb), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(ours, na2d_unfold(q, k, v, ks, d, rpb), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(na2d(q, k, v, ks, d), na2d_dense(q, k, v, ks, d), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("h,w,ks,d", [(7, 9, 3, 1), (10, 13, 3, 2), (6, 5, 5, 1)])
def test_na2d_gradients_match_dense_reference(h, w, ks, d):
    grads = []
    for fn in (na2d, na2d_dense):
        q, k, v, rpb = _qkv(h, w, ks, grad=True)
        out = fn(q, k, v, ks, d, rpb)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        grads.append([t.grad for t in (q, k, v, rpb)])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_float32_matches_reference_to_1e5():
    q, k, v, rpb = _qkv(9, 11, 3, dtype=torch.float32)
    torch.testing.assert_close(na2d(q, k, v, 3, 2, rpb), na2d_dense(q, k, v, 3, 2, rpb), atol=1e-5, rtol=1e-5)


def test_windows_are_shifted_inward_at_borders():
    # Length 7, kernel 3: pixel 0's window is {0, 1, 2} (not a padded {-1, 0, 1}); pixel 6's is {4, 5, 6}.
    g, rel = neighborhood_graph(1 * 3, 7, 3)
    src, dst = g.edge_index
    row_of = lambda t: sorted({int(s) % 7 for s in src[dst == t]})  # noqa: E731
    assert row_of(7) == [0, 1, 2] and row_of(13) == [4, 5, 6] and row_of(10) == [2, 3, 4]
    assert [window_start(i, 7, 3, 1) for i in range(7)] == [0, 0, 1, 2, 3, 4, 4]
    assert g.num_edges == 3 * 7 * 9 and int(rel.min()) >= 0 and int(rel.max()) < 25


def test_module_layouts_agree_and_match_a_reference_forward():
    torch.manual_seed(0)
    layer = NeighborhoodAttention2d(12, num_heads=3, kernel_size=3, dilation=2).double()
    x = torch.randn(2, 9, 10, 12, dtype=torch.float64)
    out = layer(x)
    assert out.shape == x.shape
    # The same computation written against the dense reference (NATTEN's module forward, step by step).
    qkv = layer.qkv(x).reshape(2, 9, 10, 3, 3, 4).permute(3, 0, 4, 1, 2, 5)
    ref = na2d_dense(qkv[0] * layer.scale, qkv[1], qkv[2], 3, 2, layer.rpb)
    ref = layer.proj(ref.permute(0, 2, 3, 1, 4).reshape(2, 9, 10, 12))
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    first = NeighborhoodAttention2d(12, num_heads=3, kernel_size=3, dilation=2, channels_last=False).double()
    first.load_state_dict(layer.state_dict())
    torch.testing.assert_close(first(x.permute(0, 3, 1, 2)), out.permute(0, 3, 1, 2), atol=1e-12, rtol=1e-12)


def test_module_trains_and_rpb_gets_gradient():
    layer = NeighborhoodAttention2d(8, num_heads=2, kernel_size=5, attn_drop=0.1)
    x = torch.randn(3, 8, 6, 8)
    layer(x).sum().backward()
    assert layer.rpb.grad is not None and layer.rpb.grad.abs().sum() > 0
    assert NeighborhoodAttention2d(8, 2, 3, bias=False).rpb is None


@pytest.mark.parametrize(
    "kwargs,shape,match",
    [
        (dict(dim=8, num_heads=2, kernel_size=4), None, "kernel_size must be an odd"),
        (dict(dim=8, num_heads=3, kernel_size=3), None, "divisible by num_heads"),
        (dict(dim=8, num_heads=2, kernel_size=3, dilation=0), None, "dilation"),
        (dict(dim=8, num_heads=2, kernel_size=3, dilation=2), (1, 5, 9, 8), "height is 5 but kernel_size"),
        (dict(dim=8, num_heads=2, kernel_size=3), (1, 5, 9, 6), "6 channels"),
        (dict(dim=8, num_heads=2, kernel_size=3), (5, 9, 8), "4-D"),
    ],
)
def test_bad_arguments_raise_with_the_offending_value(kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        NeighborhoodAttention2d(**kwargs)(torch.randn(*shape))
