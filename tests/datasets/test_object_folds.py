"""``object_folds``: leave-objects-out cross-validation splits for the shape data sets."""
from __future__ import annotations

import pytest

from graphkit.datasets.shapes import object_folds


def _objects(counts: dict) -> list:
    return [(c, f"{c}{i}", "") for c, n in counts.items() for i in range(n)]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_every_object_tested_once_and_never_trained_on(k: int) -> None:
    objs = _objects({"a": 14, "b": 3, "c": 9, "d": 6, "e": 2})
    folds = object_folds(objs, k, seed=1)
    assert len(folds) == k
    tested = sorted(i for f in folds for i in f["test"])
    assert tested == list(range(len(objs)))
    sizes = [len(f["test"]) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for f in folds:
        train, valid, test = set(f["train"]), set(f["valid"]), set(f["test"])
        assert not (train & valid) and not (train & test) and not (valid & test)
        assert train | valid | test == set(range(len(objs)))
        # one validation object per class that has an object outside the test fold
        assert sorted(objs[i][0] for i in valid) == sorted({objs[i][0] for i in train | valid})


def test_deterministic_and_seeded() -> None:
    objs = _objects({"a": 7, "b": 5})
    assert object_folds(objs, 3, seed=0) == object_folds(objs, 3, seed=0)
    assert object_folds(objs, 3, seed=0) != object_folds(objs, 3, seed=1)


@pytest.mark.parametrize("k", [1, 13])
def test_bad_k(k: int) -> None:
    with pytest.raises(ValueError, match=f"k must lie in \\[2, 12\\].*got {k}"):
        object_folds(_objects({"a": 7, "b": 5}), k)
