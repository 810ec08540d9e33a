from __future__ import annotations

import pytest
import torch

from graphkit.data.splits import group_split, random_split, stratified_split


def _is_partition(split: dict, n: int) -> bool:
    return torch.equal(torch.cat(list(split.values())).sort().values, torch.arange(n))


def test_random_split_partition_sizes_and_seed() -> None:
    s = random_split(103, (0.7, 0.2, 0.1), seed=3)
    assert _is_partition(s, 103)
    assert [len(s[k]) for k in ("train", "valid", "test")] == [72, 21, 10]
    assert torch.equal(random_split(103, (0.7, 0.2, 0.1), seed=3)["test"], s["test"])
    assert not torch.equal(random_split(103, (0.7, 0.2, 0.1), seed=4)["test"], s["test"])


def test_stratified_split_keeps_proportions() -> None:
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    s = stratified_split(labels, (0.6, 0.2, 0.2))
    assert _is_partition(s, 100)
    assert torch.bincount(labels[s["test"]]).tolist() == [10, 6, 4]


def test_group_split_matches_deepchem_rule() -> None:
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 1 + ["d"] * 1
    s = group_split(groups, (0.5, 0.3, 0.2))
    # sizes descending (ties by first index, descending): a(5) -> train, b(3) -> valid, d, c -> test
    assert s["train"].tolist() == [0, 1, 2, 3, 4]
    assert s["valid"].tolist() == [5, 6, 7]
    assert s["test"].tolist() == [8, 9]
    shuffled = group_split(groups, (0.5, 0.3, 0.2), seed=1)
    assert _is_partition(shuffled, 10)


def test_bad_fractions() -> None:
    with pytest.raises(ValueError, match="frac"):
        random_split(10, (0.5, 0.5, 0.5))
