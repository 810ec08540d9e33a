"""NeighborLoader / LinkNeighborLoader / Prefetcher: coverage of seeds, reproducibility, labels, prefetching."""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit.loader import LinkNeighborLoader, NeighborLoader, Prefetcher


def _graph(n: int = 200, e: int = 1500, seed: int = 0) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    return Graph(x=torch.randn(n, 8, generator=gen), edge_index=ei, y=torch.arange(n) % 3,
                 train_mask=torch.arange(n) % 2 == 0, kinds={"train_mask": "node"})


def _key(batch: Graph) -> tuple:
    return tuple(batch.n_id.tolist()), tuple(batch.e_id.tolist())


@pytest.mark.parametrize("prefetch", [0, 2])
def test_neighbor_loader_covers_input_nodes_once(prefetch: int) -> None:
    g = _graph()
    loader = NeighborLoader(g, [4, 3], input_nodes=g.train_mask, batch_size=32, shuffle=True, seed=1,
                            prefetch=prefetch)
    seen = []
    for batch in loader:
        bs = batch.batch_size
        assert bs <= 32 and torch.equal(batch.x[:bs], g.x[batch.n_id[:bs]])
        assert torch.equal(batch.y, g.y[batch.n_id]) and bool(batch.train_mask[:bs].all())
        assert torch.equal(g.edge_index[:, batch.e_id], batch.n_id[batch.edge_index])
        seen.append(batch.n_id[:bs])
    assert len(seen) == len(loader) == 4
    assert torch.equal(torch.sort(torch.cat(seen)).values, g.train_mask.nonzero().view(-1))


def test_neighbor_loader_reproducible_and_epochs_differ() -> None:
    g = _graph()
    a = [_key(b) for b in NeighborLoader(g, [3, 3], batch_size=50, shuffle=True, seed=7)]
    b = [_key(b) for b in NeighborLoader(g, [3, 3], batch_size=50, shuffle=True, seed=7, prefetch=0)]
    assert a == b
    loader = NeighborLoader(g, [3, 3], batch_size=50, shuffle=True, seed=7)
    first, second = [_key(x) for x in loader], [_key(x) for x in loader]
    assert first == a and second != first
    torch.manual_seed(3)
    c = [_key(x) for x in NeighborLoader(g, [3], batch_size=50, shuffle=True)]
    torch.manual_seed(3)
    d = [_key(x) for x in NeighborLoader(g, [3], batch_size=50, shuffle=True)]
    assert c == d


def test_ring_buffer_rows_valid_while_in_flight() -> None:
    g = _graph()
    loader = NeighborLoader(g, [5, 5], batch_size=20, seed=0, prefetch=2, ring=4)
    previous = None
    for batch in loader:
        assert torch.equal(batch.x, g.x[batch.n_id])
        if previous is not None:  # the batch before stays intact for ring - prefetch - 1 >= 1 more batches
            assert torch.equal(previous.x, g.x[previous.n_id])
        previous = batch


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_kept_batches_stay_valid(prefetch: int) -> None:  # k13: list(loader) corrupted 12 of 20 batches
    torch.manual_seed(0)
    n = 200
    g = Graph(x=torch.arange(n, dtype=torch.float32).view(n, 1).repeat(1, 4), edge_index=torch.randint(0, n, (2, 2000)))
    for loader in (NeighborLoader(g, [5, 5], batch_size=10, seed=0, prefetch=prefetch),
                   LinkNeighborLoader(g, [5], batch_size=100, seed=0, prefetch=prefetch)):
        batches = list(loader)
        assert len(batches) == 20 and all(torch.equal(b.x, g.x[b.n_id]) for b in batches)
        kept = [(b.x[:3], b.n_id[:3]) for b in loader]  # a slice of x alone keeps its rows too
        assert all(torch.equal(x, g.x[n_id]) for x, n_id in kept)


def test_loader_bad_arguments() -> None:
    g = _graph()
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        NeighborLoader(g, [2], batch_size=0)
    with pytest.raises(ValueError, match=r"num_neighbors\[0\] is -3"):
        NeighborLoader(g, [-3])
    with pytest.raises(ValueError, match="input_nodes is a mask of 5 entries but num_nodes is 200"):
        NeighborLoader(g, [2], input_nodes=torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="features has 3 rows but num_nodes is 200"):
        NeighborLoader(g, [2], features=torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"seeds\[0\] is 500 but num_nodes is 200"):
        list(NeighborLoader(g, [2], input_nodes=torch.tensor([500])))


def test_link_loader_labels_and_negatives() -> None:
    g = _graph()
    pos = g.edge_index[:, :100]
    loader = LinkNeighborLoader(g, [3, 2], edge_label_index=pos, neg_sampling_ratio=2.0, batch_size=25,
                                shuffle=True, seed=0)
    covered = []
    for batch in loader:
        eli, label = batch.edge_label_index, batch.edge_label
        assert eli.shape == (2, 75) and label.tolist() == [1.0] * 25 + [0.0] * 50
        glob = batch.n_id[eli]
        assert torch.equal(glob[:, :25], pos[:, batch.input_id])
        # Every endpoint is a seed of the sub-graph, so the model sees its sampled neighbourhood.
        assert int(eli.max()) < batch.batch_size == int(batch.num_sampled_nodes[0])
        covered.append(batch.input_id)
    assert torch.equal(torch.sort(torch.cat(covered)).values, torch.arange(100))


def test_link_loader_custom_labels_and_errors() -> None:
    g = _graph()
    loader = LinkNeighborLoader(g, [2], edge_label_index=g.edge_index[:, :10], edge_label=torch.arange(10.0),
                                batch_size=4, prefetch=0)
    assert torch.cat([b.edge_label for b in loader]).tolist() == [float(i) for i in range(10)]
    with pytest.raises(ValueError, match="edge_label_index has index 999 but num_nodes is 200"):
        LinkNeighborLoader(g, [2], edge_label_index=torch.tensor([[0], [999]]))


def test_prefetcher_reraises_producer_errors() -> None:
    def boom():
        yield 1
        raise KeyError("producer failed")

    it = Prefetcher(boom(), depth=2)
    assert next(it) == 1
    with pytest.raises(KeyError, match="producer failed"):
        next(it)


@pytest.mark.cuda
def test_neighbor_loader_moves_batches_to_gpu() -> None:
    g = _graph()
    for prefetch in (0, 2):
        for batch in NeighborLoader(g, [3, 3], batch_size=64, seed=0, prefetch=prefetch, device="cuda"):
            assert batch.x.is_cuda and batch.csr()[0].is_cuda
            assert torch.equal(batch.x.cpu(), g.x[batch.n_id.cpu()])


def test_sampling_loaders_apply_their_transform_per_batch() -> None:
    from graphkit.transforms import NormalizeFeatures

    g = _graph()
    for make in (lambda **kw: NeighborLoader(g, [3, 3], batch_size=50, seed=3, **kw),
                 lambda **kw: LinkNeighborLoader(g, [3], batch_size=16, seed=3, **kw)):
        plain = next(iter(make()))
        normed = next(iter(make(transform=NormalizeFeatures())))
        assert torch.equal(normed.n_id, plain.n_id)  # the same sample, then the transform on the batch
        torch.testing.assert_close(normed.x, NormalizeFeatures()(plain).x)
    with pytest.raises(TypeError, match="transform must be a callable"):
        NeighborLoader(g, [3], batch_size=8, transform=1)
