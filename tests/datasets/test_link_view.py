"""The homogeneous link view of a knowledge graph: no evaluated pair is a training edge, negatives are non-edges."""
from __future__ import annotations

import pytest
import torch

from graphkit.datasets.link_view import link_view_of_triples


def _keys(pairs, n):
    lo, hi = pairs.min(1).values, pairs.max(1).values
    return set((lo * n + hi).tolist())


def test_view_invariants_on_a_random_kg():
    g = torch.Generator().manual_seed(0)
    n = 40
    split = {s: {"head": torch.randint(0, n, (m,), generator=g), "relation": torch.randint(0, 5, (m,), generator=g),
                 "tail": torch.randint(0, n, (m,), generator=g)} for s, m in (("train", 300), ("valid", 60),
                                                                           ("test", 60))}
    ds = link_view_of_triples(split, n, "toy", num_negatives=100, seed=3)
    train = _keys(ds.split["train"]["edge"], n)
    valid, test = _keys(ds.split["valid"]["edge"], n), _keys(ds.split["test"]["edge"], n)
    every = set()
    for part in split.values():
        h, t = part["head"], part["tail"]
        every |= {min(a, b) * n + max(a, b) for a, b in zip(h.tolist(), t.tolist()) if a != b}
    assert train | valid | test == every  # every pair of every split lands in exactly one part
    assert not train & valid and not train & test and not valid & test
    assert ds.graph.edge_index.size(1) == 2 * len(train)  # both directions
    negs = [_keys(ds.split[s]["edge_neg"], n) for s in ("valid", "test")]
    assert all(len(x) == 100 for x in negs) and not negs[0] & negs[1] and not (negs[0] | negs[1]) & every
    assert all((ds.split[s]["edge_neg"][:, 0] != ds.split[s]["edge_neg"][:, 1]).all() for s in ("valid", "test"))
    again = link_view_of_triples(split, n, "toy", num_negatives=100, seed=3)
    assert torch.equal(again.split["test"]["edge_neg"], ds.split["test"]["edge_neg"])  # fixed by the seed


def test_bad_inputs_name_the_field():
    split = {"train": {"head": torch.tensor([0]), "tail": torch.tensor([1])},
             "valid": {"head": torch.tensor([0])}, "test": {"head": torch.tensor([0]), "tail": torch.tensor([1])}}
    with pytest.raises(ValueError, match=r"split\['valid'\] must hold 'head' and 'tail'; got \['head'\]"):
        link_view_of_triples(split, 3, "toy")
    split["valid"]["tail"] = torch.tensor([2])
    with pytest.raises(ValueError, match="num_negatives must be at least 1, got 0"):
        link_view_of_triples(split, 3, "toy", num_negatives=0)


def test_a_complete_view_has_no_negatives_and_says_so():
    n = 4
    pairs = torch.tensor([(a, b) for a in range(n) for b in range(a + 1, n)])
    split = {"train": {"head": pairs[:4, 0], "tail": pairs[:4, 1]}, "valid": {"head": pairs[4:5, 0],
             "tail": pairs[4:5, 1]}, "test": {"head": pairs[5:, 0], "tail": pairs[5:, 1]}}
    with pytest.raises(ValueError, match="toy: 0 of the 6 node pairs are joined by no triple"):
        link_view_of_triples(split, n, "toy")


def test_a_large_view_draws_its_negatives_without_the_pair_list():
    # 5,000 entities: 25M ordered pairs, past the enumeration limit, so the negatives are drawn by rejection
    n, gen = 5000, torch.Generator().manual_seed(1)
    h, t = torch.randint(n, (20000,), generator=gen), torch.randint(n, (20000,), generator=gen)
    split = {"train": {"head": h[:16000], "tail": t[:16000]}, "valid": {"head": h[16000:18000], "tail": t[16000:18000]},
             "test": {"head": h[18000:], "tail": t[18000:]}}
    ds = link_view_of_triples(split, n, "big", num_negatives=1000)
    neg = torch.cat([ds.split["valid"]["edge_neg"], ds.split["test"]["edge_neg"]])
    known = set().union(*(_keys(torch.stack([split[p]["head"], split[p]["tail"]], 1), n) for p in split))
    assert neg.shape == (2000, 2) and len(_keys(neg, n)) == 2000  # distinct across valid and test
    assert not _keys(neg, n) & known and bool((neg[:, 0] != neg[:, 1]).all())
    assert int(neg.min()) >= 0 and int(neg.max()) < n
    again = link_view_of_triples(split, n, "big", num_negatives=1000)
    assert torch.equal(again.split["test"]["edge_neg"], ds.split["test"]["edge_neg"])  # fixed by the seed
