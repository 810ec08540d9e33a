"""graphkit.nn layers under ``torch.compile``, on a small batched graph: one layer per code path (see SUBSET)
with the ``aot_eager`` backend (Dynamo tracing plus AOT autograd, no code generation), and one representative
(GCNConv) with the default inductor backend, whose code generation takes most of a minute on 2 cores. Graph
breaks (the kernels' host-side input checks) are allowed; forward and input gradients must match eager mode."""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator

import pytest
import torch

from graphkit import Batch
from graphkit import nn as gnn
from graphkit.testing.layers import random_graph


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    old = torch.get_num_threads()  # tiny graphs: one thread beats two busy ones by far
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _mlp(i: int, o: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, 8), torch.nn.ReLU(), torch.nn.Linear(8, o))


LAYERS: Dict[str, Callable[[], torch.nn.Module]] = {
    "GCNConv": lambda: gnn.GCNConv(4, 3),
    "SAGEConv": lambda: gnn.SAGEConv(4, 3, aggr="max"),
    "GINConv": lambda: gnn.GINConv(_mlp(4, 3)),
    "GINEConv": lambda: gnn.GINEConv(_mlp(4, 3), edge_dim=2),
    "GraphConv": lambda: gnn.GraphConv(4, 3),
    "SGConv": lambda: gnn.SGConv(4, 3, K=2),
    "APPNP": lambda: gnn.APPNP(2, 0.1),
    "DAGNNConv": lambda: gnn.DAGNNConv(4, 2),
    "EdgeConv": lambda: gnn.EdgeConv(_mlp(8, 3)),
    "DynamicEdgeConv": lambda: gnn.DynamicEdgeConv(_mlp(8, 3), k=3),
    "MeshConv": lambda: gnn.MeshConv(4, 3),
    "MFConv": lambda: gnn.MFConv(4, 3),
    "LightGCNConv": lambda: gnn.LightGCNConv(),
    "NeuralFingerprint": lambda: gnn.NeuralFingerprint(4, 5, 3, num_layers=2),
}


def _args(name: str, b: Batch) -> Any:
    if name == "GINEConv":
        return (b.x, b, b.edge_attr)
    if name == "MeshConv":
        return (b.x, torch.randint(0, b.num_nodes, (b.num_nodes, 4), generator=torch.Generator().manual_seed(0)))
    return (b.x, b)


def _check(name: str, backend: str) -> None:
    torch._dynamo.reset()
    b = Batch.from_graphs([random_graph(n, 3 * n, 4, seed=n, edge_dim=2) for n in (7, 5)])
    layer = LAYERS[name]().double()
    compiled = torch.compile(layer, backend=backend)
    args = _args(name, b)
    x1 = args[0].clone().requires_grad_(True)
    x2 = args[0].clone().requires_grad_(True)
    ref = layer(x1, *args[1:])
    out = compiled(x2, *args[1:])
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)
    ref.sum().backward()
    out.sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, atol=1e-10, rtol=0)


# A representative subset, one per code path: SGConv, APPNP and DAGNNConv share GCNConv's gcn_norm + weighted
# propagate; DynamicEdgeConv is EdgeConv after a (non-differentiated) kNN; NeuralFingerprint is MFConv + a pool.
# All of LAYERS passed under aot_eager when this was written (7 minutes on 2 busy cores).
SUBSET = ["GCNConv", "SAGEConv", "GINConv", "GINEConv", "GraphConv", "EdgeConv", "MeshConv", "MFConv",
          "LightGCNConv"]


@pytest.mark.parametrize("name", SUBSET)
def test_compiles_with_aot_eager(name: str) -> None:
    _check(name, "aot_eager")


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["GCNConv"])
def test_compiles_with_inductor(name: str) -> None:
    _check(name, "inductor")
