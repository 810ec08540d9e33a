"""Deterministic train/valid/test splits: random, stratified, grouped and (Bemis-Murcko) scaffold splits.

Every function returns ``{"train": idx, "valid": idx, "test": idx}`` of int64 tensors that partition
``range(n)`` (each sorted ascending), and depends only on its arguments and ``seed``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ["random_split", "stratified_split", "group_split", "scaffold_split", "murcko_scaffold"]

Split = Dict[str, Tensor]
Fractions = Tuple[float, float, float]


def _check_fractions(frac: Sequence[float]) -> Fractions:
    if len(frac) != 3 or any(f < 0 for f in frac) or abs(sum(frac) - 1.0) > 1e-6:
        raise ValueError(f"frac must be three non-negative fractions summing to 1, got {tuple(frac)}")
    return float(frac[0]), float(frac[1]), float(frac[2])


def _pack(parts: List[List[int]]) -> Split:
    return {
        name: torch.tensor(sorted(p), dtype=torch.long) for name, p in zip(("train", "valid", "test"), parts)
    }


def random_split(n: int, frac: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """A seeded random permutation cut at ``frac`` (train gets the rounding remainder).

    >>> {k: len(v) for k, v in random_split(10).items()}
    {'train': 8, 'valid': 1, 'test': 1}
    """
    f = _check_fractions(frac)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_valid, n_test = int(round(f[1] * n)), int(round(f[2] * n))
    n_train = n - n_valid - n_test
    return _pack([perm[:n_train], perm[n_train : n_train + n_valid], perm[n_train + n_valid :]])


def stratified_split(labels: Tensor, frac: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """A random split within each class, so every split keeps the class proportions."""
    labels = torch.as_tensor(labels).reshape(-1)
    parts: List[List[int]] = [[], [], []]
    for c in torch.unique(labels).tolist():
        members = (labels == c).nonzero().view(-1)
        sub = random_split(members.numel(), frac, seed + int(c) if isinstance(c, int) else seed)
        for i, name in enumerate(("train", "valid", "test")):
            parts[i] += members[sub[name]].tolist()
    return _pack(parts)


def group_split(
    groups: Sequence, frac: Sequence[float] = (0.8, 0.1, 0.1), seed: Optional[int] = None
) -> Split:
    """Whole groups go to one split: largest groups first into train, then valid, then test (deepchem's rule).

    With ``seed=None`` groups are ordered by (size, first index) descending, the deterministic order of
    deepchem's and OGB's scaffold splits; with a seed they are shuffled first (a "balanced" random variant).
    """
    f = _check_fractions(frac)
    members: Dict[object, List[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    sets = list(members.values())
    if seed is None:
        sets.sort(key=lambda s: (len(s), s[0]), reverse=True)
    else:
        order = torch.randperm(len(sets), generator=torch.Generator().manual_seed(seed)).tolist()
        sets = [sets[i] for i in order]
    n = len(groups)
    train_cut, valid_cut = f[0] * n, (f[0] + f[1]) * n
    parts: List[List[int]] = [[], [], []]
    for s in sets:
        if len(parts[0]) + len(s) > train_cut:
            if len(parts[0]) + len(parts[1]) + len(s) > valid_cut:
                parts[2] += s
            else:
                parts[1] += s
        else:
            parts[0] += s
    return _pack(parts)


def murcko_scaffold(smiles: str, include_chirality: bool = True) -> str:
    """The Bemis-Murcko scaffold SMILES of a molecule ('' for an acyclic one), as OGB/deepchem compute it."""
    from rdkit import RDLogger
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from graphkit.data.molecule import _parse

    mol = _parse(smiles)
    RDLogger.DisableLog("rdApp.*")
    try:
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)
    finally:
        RDLogger.EnableLog("rdApp.*")


def scaffold_split(
    smiles: Sequence[str], frac: Sequence[float] = (0.8, 0.1, 0.1), seed: Optional[int] = None
) -> Split:
    """Scaffold split: molecules sharing a Bemis-Murcko scaffold land in the same split (see :func:`group_split`).

    Test molecules therefore have scaffolds never seen in training, which is the harder, more honest setting
    that OGB's molecule benchmarks use. Raises ``ValueError`` naming the first unparsable SMILES.
    """
    scaffolds = []
    for i, s in enumerate(smiles):
        try:
            scaffolds.append(murcko_scaffold(s))
        except ValueError as exc:
            raise ValueError(f"smiles[{i}]: {exc}") from None
    return group_split(scaffolds, frac, seed)
