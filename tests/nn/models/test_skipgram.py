"""The fused skip-gram loss: value and gradient equal the plain per-window formulation (to 1e-6), whether the
windows fold back into walks or not, sparse or dense; windows_to_walks inverts PyG's window layout."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn.models.skipgram import EPS, skipgram_loss, windows_to_walks


def _plain(weight: torch.Tensor, pos_rw: torch.Tensor, neg_rw: torch.Tensor) -> torch.Tensor:
    """PyG's formulation written out: gather every window, score its start against the rest."""
    def scores(rw: torch.Tensor) -> torch.Tensor:
        h = weight[rw]
        return (h[:, 1:] * h[:, :1]).sum(-1).view(-1)

    return (-torch.log(torch.sigmoid(scores(pos_rw)) + EPS).mean()
            - torch.log(1 - torch.sigmoid(scores(neg_rw)) + EPS).mean())


def _windows(walks: torch.Tensor, c: int, walk_major: bool = False) -> torch.Tensor:
    w = walks.unfold(1, c, 1)
    return (w if walk_major else w.transpose(0, 1)).reshape(-1, c)


def _grads(weight: torch.Tensor, loss_fn, sparse: bool):
    w = weight.clone().requires_grad_()
    loss = loss_fn(w)
    loss.backward()
    g = w.grad
    if sparse:
        assert g.is_sparse
        g = g.coalesce().to_dense()
    return loss.detach(), g


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("length,c,walk_major", [(8, 3, False), (5, 5, False), (12, 2, False), (8, 3, True)])
def test_fused_loss_equals_plain_on_walk_windows(sparse, length, c, walk_major) -> None:
    gen = torch.Generator().manual_seed(0)
    n = 30
    weight = torch.randn(n, 16, generator=gen, dtype=torch.float64) * 0.5
    pos = _windows(torch.randint(n, (7, length), generator=gen), c, walk_major)
    neg = _windows(torch.randint(n, (14, length), generator=gen), c)
    assert windows_to_walks(pos, length).shape == (7, length)  # the fast layout is the one exercised
    ref, gref = _grads(weight, lambda w: _plain(w, pos, neg), False)
    out, g = _grads(weight, lambda w: skipgram_loss(w, pos, neg, length, sparse), sparse)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(g, gref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("sparse", [True, False])
def test_fused_loss_equals_plain_on_arbitrary_windows(sparse) -> None:
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(20, 8, generator=gen)
    pos = torch.randint(20, (9, 4), generator=gen)  # not windows of walks: scored window by window
    neg = torch.randint(20, (6, 3), generator=gen)  # a different context size
    assert windows_to_walks(pos, 6) is pos
    for walk_length in (None, 6):
        ref, gref = _grads(weight, lambda w: _plain(w, pos, neg), False)
        out, g = _grads(weight, lambda w: skipgram_loss(w, pos, neg, walk_length, sparse), sparse)
        torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(g, gref, rtol=1e-6, atol=1e-7)


def test_fused_loss_keeps_pygs_eps_where_scores_saturate() -> None:
    # scores of +-40: sigmoid is exactly 0 or 1 in float32, so the eps floor (and a zero gradient) decide
    weight = torch.tensor([[4.0, 5.0], [4.0, 4.0], [-4.0, -4.0]])
    pos, neg = torch.tensor([[0, 2]]), torch.tensor([[0, 1]])
    ref, gref = _grads(weight, lambda w: _plain(w, pos, neg), False)
    out, g = _grads(weight, lambda w: skipgram_loss(w, pos, neg), False)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(g, gref)


def test_sparse_gradient_covers_exactly_the_rows_used() -> None:
    weight = torch.randn(50, 4, requires_grad=True)
    pos = _windows(torch.tensor([[3, 7, 3, 9, 11]]), 2)
    neg = _windows(torch.tensor([[3, 40, 41, 7, 42]]), 2)
    skipgram_loss(weight, pos, neg, 5, sparse=True).backward()
    idx = weight.grad._indices()[0]
    assert idx.tolist() == [3, 7, 9, 11, 40, 41, 42]


def test_windows_to_walks_inverts_the_window_layout() -> None:
    walks = torch.arange(24).view(4, 6)
    rw = _windows(walks, 3)
    assert torch.equal(windows_to_walks(rw, 6), walks)
    walk_major = walks.unfold(1, 3, 1).reshape(-1, 3)  # DGL's example cuts walks this way
    assert torch.equal(windows_to_walks(walk_major, 6), walks)
    assert windows_to_walks(rw, None) is rw
    assert windows_to_walks(rw, 7) is rw  # 4 windows per walk do not divide 16 rows into 5-window walks
    broken = rw.clone()
    broken[5, 0] = 99  # the second window of walk 1 no longer overlaps its first
    assert windows_to_walks(broken, 6) is broken


def test_bad_windows() -> None:
    w = torch.randn(5, 2)
    with pytest.raises(ValueError, match=r"pos_rw must be a \[W, C >= 2\] integer tensor of windows, got "
                                         r"torch.int64 of shape \[3, 1\]"):
        skipgram_loss(w, torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="neg_rw must be .* got torch.float32 of shape \\[3, 2\\]"):
        skipgram_loss(w, torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="at least one window each, got 2 and 0"):
        skipgram_loss(w, torch.zeros(2, 2, dtype=torch.long), torch.zeros(0, 2, dtype=torch.long))
