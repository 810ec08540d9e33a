r"""A deterministic contextual stochastic block model (cSBM) with tunable homophily.

``C`` balanced classes; node features are a class mean plus Gaussian noise,

.. math:: x_v = \mu_{y_v} + \sigma z_v, \qquad \mu_c \sim \mathcal{N}(0, I_F / F)\ \text{(scaled to norm } \mu\text{)},

and ``num_nodes * avg_degree / 2`` undirected edges, each joining two nodes of the *same* class with probability
``homophily`` and of two *different* classes otherwise (endpoints uniform within the chosen classes). With
``homophily`` near 0 (strong heterophily) a node's neighbours almost never share its class, which is where
feature-averaging GNNs such as GCN fail and sheaf diffusion does not. Everything comes from one
``torch.Generator`` seeded with ``seed``: the same arguments give the same graph, bit for bit.

Shapes: ``x`` ``(N, F)``, ``edge_index`` ``(2, E)`` (both directions, no self-loops or duplicates), ``y`` ``(N,)``;
``train_mask``/``val_mask``/``test_mask`` ``(N,)`` bool.
"""
from __future__ import annotations

import torch

from graphkit.graph import Graph

__all__ = ["contextual_sbm"]


def contextual_sbm(num_nodes: int = 1000, num_classes: int = 2, num_features: int = 32, avg_degree: float = 5.0,
                   homophily: float = 0.05, mu: float = 1.0, noise: float = 1.0, train_fraction: float = 0.6,
                   val_fraction: float = 0.2, seed: int = 0) -> Graph:
    """Generate a cSBM graph (see the module docstring); ``seed`` fixes the graph, features and split."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if num_nodes < 2 * num_classes:
        raise ValueError(f"num_nodes must be at least 2 * num_classes = {2 * num_classes}, got {num_nodes}")
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"homophily must be in [0, 1], got {homophily}")
    if not 0.0 < train_fraction + val_fraction < 1.0:
        raise ValueError(f"train_fraction + val_fraction must be in (0, 1), got {train_fraction + val_fraction}")
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    y = y[torch.randperm(num_nodes, generator=gen)]
    means = torch.randn(num_classes, num_features, generator=gen)
    means = mu * means / means.norm(dim=1, keepdim=True)
    x = means[y] + noise * torch.randn(num_nodes, num_features, generator=gen) / num_features ** 0.5

    # Members of each class, contiguous: class c owns order[start[c] : start[c] + count[c]].
    order = torch.sort(y, stable=True).indices
    count = torch.bincount(y, minlength=num_classes)
    start = torch.cumsum(count, 0) - count
    num_edges = int(num_nodes * avg_degree / 2)
    # Oversample, then drop self-loops and duplicates; the surplus keeps the mean degree close to avg_degree.
    m = int(num_edges * 1.2) + 16
    u = torch.randint(num_nodes, (m,), generator=gen)
    same = torch.rand(m, generator=gen) < homophily
    shift = torch.randint(1, num_classes, (m,), generator=gen)
    cv = torch.where(same, y[u], (y[u] + shift) % num_classes)
    v = order[start[cv] + (torch.rand(m, generator=gen) * count[cv]).long().clamp(max=count[cv] - 1)]
    keep = u != v
    a, b = torch.minimum(u, v)[keep], torch.maximum(u, v)[keep]
    key = torch.unique(a * num_nodes + b)  # sorted and unique: the order no longer depends on sampling order
    pick = torch.randperm(key.numel(), generator=gen)[:num_edges]
    key = torch.sort(key[pick]).values
    a, b = key // num_nodes, key % num_nodes
    edge_index = torch.stack([torch.cat([a, b]), torch.cat([b, a])])

    perm = torch.randperm(num_nodes, generator=gen)
    n_train, n_val = int(train_fraction * num_nodes), int(val_fraction * num_nodes)
    masks = []
    for lo, hi in ((0, n_train), (n_train, n_train + n_val), (n_train + n_val, num_nodes)):
        mask = torch.zeros(num_nodes, dtype=torch.bool)
        mask[perm[lo:hi]] = True
        masks.append(mask)
    return Graph(x=x, edge_index=edge_index, y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2],
                 kinds={"y": "node", "train_mask": "node", "val_mask": "node", "test_mask": "node"})
