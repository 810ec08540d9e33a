"""DistFeatureStore: every gathered row equals the full matrix's, on 2 and 4 ranks (threads of one process, the
LocalExchange transport), with and without the hot-node cache; counters; bad input."""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit.loader import DistFeatureStore, LocalExchange, NeighborLoader, Partition, partition_graph
from graphkit.loader.dist_feature_store import hot_nodes, part_positions


def _graph(n: int = 300, e: int = 1500, seed: int = 0) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    return Graph(x=torch.randn(n, 5, generator=gen), edge_index=ei, num_nodes=n)


def _requests(n: int, rank: int, rounds: int):
    gen = torch.Generator().manual_seed(100 + rank)
    out = [torch.randint(0, n, (int(torch.randint(0, 80, (), generator=gen)),), generator=gen)
           for _ in range(rounds)]
    out.append(torch.empty(0, dtype=torch.long))  # a rank with nothing to ask still joins the exchange
    out.append(torch.arange(n))  # every row
    return out


@pytest.mark.parametrize("world", [2, 4])
@pytest.mark.parametrize("cache", [0, 40])
@pytest.mark.parametrize("method", ["metis", "random"])
def test_every_gathered_row_equals_the_full_matrix(world: int, cache: int, method: str) -> None:
    g = _graph()
    part = (partition_graph(g, world, "auto") if method == "metis"
            else Partition(torch.randint(0, world, (g.num_nodes,), generator=torch.Generator().manual_seed(1)), world))

    def rank(ex: LocalExchange):
        store = DistFeatureStore(g.x[part.owned(ex.rank)], part, ex, cache_size=cache,
                                 cache_score=DistFeatureStore.out_degree(g))
        assert store.data.size(0) == part.owned(ex.rank).numel() < g.num_nodes  # only its own rows
        for ids in _requests(g.num_nodes, ex.rank, 6):
            assert torch.equal(store.gather(ids), g.x[ids])
            buf = torch.empty(ids.numel(), 5)
            assert store.gather(ids.int(), out=buf) is buf and torch.equal(buf, g.x[ids])
        return store.stats(), store.cache_ids, store.cache_rows

    results = LocalExchange.run(world, rank)
    for r, (stats, ids, rows) in enumerate(results):
        assert ids.numel() == min(cache, int((part.part != r).sum()))
        assert torch.equal(rows, g.x[ids]) and bool((part.part[ids] != r).all())
        assert stats["rows_local"] + stats["rows_cached"] + stats["rows_fetched"] >= stats["rows_local"] > 0
        assert (stats["rows_cached"] > 0) == (cache > 0)
    # every byte sent is received by some rank
    assert sum(s["bytes_sent"] for s, _, _ in results) == sum(s["bytes_received"] for s, _, _ in results)


def test_bytes_saved_is_what_the_cache_did_not_move() -> None:
    g = _graph(seed=3)
    part = partition_graph(g, 2, "auto")

    def traffic(cache: int):
        def rank(ex: LocalExchange):
            store = DistFeatureStore(g.x[part.owned(ex.rank)], part, ex, cache_size=cache,
                                     cache_score=DistFeatureStore.out_degree(g))
            for ids in _requests(g.num_nodes, ex.rank, 5):
                store.gather(ids)
            return store.stats()
        return LocalExchange.run(2, rank)

    without, with_cache = traffic(0), traffic(60)
    assert sum(s["bytes_saved"] for s in without) == 0
    moved = sum(s["bytes_received"] for s in with_cache)
    assert moved < sum(s["bytes_received"] for s in without)
    assert moved + sum(s["bytes_saved"] for s in with_cache) == sum(s["bytes_received"] for s in without)
    assert all(s["bytes_cache_fill"] > 0 for s in with_cache)


def test_neighbor_loader_gathers_through_it_on_its_prefetch_thread() -> None:
    g = _graph(n=200, e=1200, seed=5)
    part = partition_graph(g, 2, "auto")
    structure = Graph(edge_index=g.edge_index, num_nodes=g.num_nodes)  # no x: the store is the only source

    def rank(ex: LocalExchange):
        store = DistFeatureStore(g.x[part.owned(ex.rank)], part, ex, cache_size=10,
                                 cache_score=DistFeatureStore.out_degree(g))
        seeds = part.owned(ex.rank)[:60]  # the same number of batches on both ranks: the gathers line up
        loader = NeighborLoader(structure, [4, 3], seeds, batch_size=20, features=store, seed=ex.rank, prefetch=1)
        n = 0
        for batch in loader:
            assert torch.equal(batch.x, g.x[batch.n_id])
            n += 1
        return n, store.stats()["rows_fetched"]

    (n0, f0), (n1, f1) = LocalExchange.run(2, rank)
    assert n0 == n1 == 3 and f0 > 0 and f1 > 0


def test_helpers() -> None:
    pos, sizes = part_positions(torch.tensor([2, 0, 2, 1, 0]), 3)
    assert pos.tolist() == [0, 0, 1, 0, 1] and sizes.tolist() == [2, 1, 2]
    assert hot_nodes(torch.tensor([3., 3., 1., 5.]), torch.tensor([0, 1, 1, 1]), 0, 2).tolist() == [1, 3]
    assert hot_nodes(torch.ones(3), torch.zeros(3, dtype=torch.long), 0, 5).numel() == 0


def test_bad_input_names_the_field_and_value() -> None:
    x = torch.randn(6, 2)
    part = Partition(torch.tensor([0, 1, 0, 1, 1, 0]), 2)
    one = LocalExchange.create(1)[0]
    with pytest.raises(ValueError, match="partition.num_parts is 2 but world_size is 1"):
        DistFeatureStore(x[:3], part, one)
    with pytest.raises(ValueError, match="cache_size must be a non-negative int, got -1"):
        DistFeatureStore(x, Partition(torch.zeros(6, dtype=torch.long), 1), one, cache_size=-1)
    with pytest.raises(ValueError, match="local has 4 rows but partition gives rank 0 3 nodes"):
        LocalExchange.run(2, lambda ex: DistFeatureStore(x[:4] if ex.rank == 0 else x[part.owned(1)], part, ex))

    def rank(ex: LocalExchange):
        store = DistFeatureStore(x[part.owned(ex.rank)], part, ex)
        if ex.rank == 1:
            store.gather(torch.tensor([1, 9]))
        store.gather(torch.tensor([0]))

    with pytest.raises(ValueError, match=r"index\[1\] is 9 but the store has 6 rows"):
        LocalExchange.run(2, rank, timeout=5)
    other = Partition(torch.tensor([1, 0, 0, 1, 1, 0]), 2)  # same sizes, another assignment
    with pytest.raises(ValueError, match="partition differs between rank"):
        LocalExchange.run(2, lambda ex: DistFeatureStore(x[(part if ex.rank else other).owned(ex.rank)],
                                                         part if ex.rank else other, ex))
    with pytest.raises(ValueError, match="cache_score is None but cache_size is 3"):
        LocalExchange.run(2, lambda ex: DistFeatureStore(x[part.owned(ex.rank)], part, ex, cache_size=3))
    with pytest.raises(ValueError, match="cache_score must be a tensor of 6 entries"):
        LocalExchange.run(2, lambda ex: DistFeatureStore(x[part.owned(ex.rank)], part, ex, cache_size=3,
                                                         cache_score=torch.ones(4)))
    with pytest.raises(ValueError, match="send_splits sum to 3 but send has 2 rows"):
        LocalExchange.create(2)[0].all_to_all(torch.zeros(2), [1, 2], [1, 1])
