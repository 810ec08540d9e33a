"""Mesh shape classification with MeshConv on MeshCNN edge graphs vs an MLP on feature statistics.

``graphkit.datasets.MeshShapes`` turns ~35 real meshes (CGAL, pyvista; five classes) into MeshCNN edge graphs
(``graphkit.data.mesh_edge_graph``): one node per mesh edge with MeshCNN's five features and its four
neighbouring edges in gemm order. Variants are anisotropically stretched; the split is by object. The model
stacks MeshConv layers (order-invariant functions of the two neighbouring triangles) and mean-pools over edges.
The baseline is an MLP on the mean and standard deviation of the five input features of each mesh.

Both train with ``graphkit.train.Trainer`` (cosine LR, the best validation epoch kept).

    python examples/mesh_meshcnn.py [--epochs 40]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from graphkit.batch import Batch
from graphkit.datasets import MeshShapes
from graphkit.nn import MeshConv, global_max_pool, global_mean_pool
from graphkit.train.custom import SupervisedTask, fit_supervised, graph_inputs


def neighbours(batch: Batch) -> torch.Tensor:
    """MeshConv's ``[E, 4]`` neighbour index (``-1`` = missing) from the batched ``gemm``/``gemm_mask`` fields."""
    return torch.where(batch.gemm_mask, batch.gemm.t(), torch.full_like(batch.gemm_mask, -1, dtype=torch.long))


class MeshNet(torch.nn.Module):
    def __init__(self, classes: int, hidden: int = 32) -> None:
        super().__init__()
        self.convs = torch.nn.ModuleList([MeshConv(5, hidden), MeshConv(hidden, hidden), MeshConv(hidden, hidden)])
        self.norms = torch.nn.ModuleList([torch.nn.LayerNorm(hidden) for _ in self.convs])
        self.head = torch.nn.Sequential(torch.nn.Linear(2 * hidden, 64), torch.nn.ReLU(), torch.nn.Linear(64, classes))

    def forward(self, batch: Batch) -> torch.Tensor:
        nbr, h = neighbours(batch), batch.x
        for conv, norm in zip(self.convs, self.norms):
            h = F.relu(norm(conv(h, nbr)))
        pooled = [global_mean_pool(h, batch.batch, batch.num_graphs), global_max_pool(h, batch.batch, batch.num_graphs)]
        return self.head(torch.cat(pooled, 1))


class StatsMLP(torch.nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, classes))

    def forward(self, batch: Batch) -> torch.Tensor:
        mean = global_mean_pool(batch.x, batch.batch, batch.num_graphs)
        sq = global_mean_pool(batch.x * batch.x, batch.batch, batch.num_graphs)
        return self.net(torch.cat([mean, (sq - mean * mean).clamp(min=0).sqrt()], 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out", default="runs/examples/mesh_meshcnn", help="run folders go here")
    args = parser.parse_args()
    ds = MeshShapes(root=args.root)
    t0 = time.time()
    graphs = [ds[i] for i in range(len(ds))]  # the edge graphs are built once, then reused every epoch
    edges = sum(g.num_nodes for g in graphs)
    print(f"MeshShapes: {len(ds.objects)} meshes, {len(ds)} variants, {edges:,} mesh edges in all, "
          f"{ {k: len(v) for k, v in ds.split.items()} } (edge graphs built in {time.time() - t0:.0f} s)")

    def fit(model: torch.nn.Module, name: str) -> tuple:
        torch.manual_seed(0)
        task = SupervisedTask(model, graph_inputs(graphs), ds.y,
                              ds.split, batch_size=8, eval_batch_size=64)
        res = fit_supervised(task, Path(args.out) / name, args.epochs, lr=2e-3)
        return res["final"]["test"]["acc"], res["seconds"]

    acc, t_model = fit(MeshNet(ds.num_classes), "meshconv")
    base, t_base = fit(StatsMLP(ds.num_classes), "mlp")
    majority = float(torch.bincount(ds.y[ds.split["test"]]).max()) / len(ds.split["test"])
    print(f"MeshConv network         : test accuracy {acc:.4f}  ({t_model:.0f} s)")
    print(f"MLP on feature statistics: test accuracy {base:.4f}  ({t_base:.0f} s)")
    print(f"majority class           : test accuracy {majority:.4f}")


if __name__ == "__main__":
    main()
