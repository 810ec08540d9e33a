"""graphkit.loader.DataLoader: PyG's DataLoader habit (a list of graphs in, Batch objects out)."""
from __future__ import annotations

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.loader import DataLoader


def _graphs(n: int = 7):
    out = []
    for i in range(n):
        nodes = 1 + i % 3  # 1-node graphs too: y is declared graph-level, so batching never guesses
        ei = torch.tensor([[0], [nodes - 1]]) if nodes > 1 else torch.zeros(2, 0, dtype=torch.long)
        out.append(Graph(x=torch.full((nodes, 2), float(i)), edge_index=ei, y=torch.tensor([i]),
                         kinds={"y": "graph"}))
    return out


def test_batches_equal_batch_from_graphs():
    graphs = _graphs()
    batches = list(DataLoader(graphs, batch_size=3))
    assert [b.num_graphs for b in batches] == [3, 3, 1]
    for k, b in enumerate(batches):
        ref = Batch.from_graphs(graphs[3 * k:3 * k + 3])
        assert isinstance(b, Batch)
        for name in ("x", "edge_index", "y", "batch", "ptr"):
            assert torch.equal(getattr(b, name), getattr(ref, name)), name


def test_shuffle_visits_every_graph_once_and_follows_the_generator():
    graphs = _graphs()

    def order(seed):
        loader = DataLoader(graphs, batch_size=2, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return torch.cat([b.y for b in loader]).tolist()

    assert sorted(order(0)) == list(range(7))
    assert order(0) == order(0) and order(0) != list(range(7))
    assert [b.num_graphs for b in DataLoader(graphs, batch_size=3, drop_last=True)] == [3, 3]


def test_pairs_of_graphs_give_pairs_of_batches():
    graphs = _graphs(4)
    a, b = next(iter(DataLoader(list(zip(graphs, graphs[::-1])), batch_size=4)))
    assert a.y.tolist() == [0, 1, 2, 3] and b.y.tolist() == [3, 2, 1, 0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size must be a positive int, got 0"),
    (dict(batch_size=2.5), "batch_size must be a positive int"),
    (dict(follow_batch=["x"]), "follow_batch and exclude_keys are not supported"),
    (dict(collate_fn=list), "DataLoader collates graphs itself"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_graphs(), **kwargs)


def test_transform_runs_on_every_batch_and_is_checked() -> None:
    import pickle

    from graphkit.transforms import AddSelfLoops

    graphs = [Graph(x=torch.randn(n, 2), edge_index=torch.tensor([[0], [1]])) for n in (2, 3, 4)]
    loader = DataLoader(graphs, batch_size=2, transform=AddSelfLoops())
    first, second = list(loader)
    assert first.num_edges == 2 + 5 and second.num_edges == 1 + 4  # one loop per node, graph by graph
    assert first.num_graphs == 2 and torch.equal(first.ptr, torch.tensor([0, 2, 5]))
    pickle.dumps(loader.collate_fn)  # worker processes receive it pickled
    with pytest.raises(TypeError, match="transform must be a callable"):
        DataLoader(graphs, transform="AddSelfLoops")
