"""PyG's first script, run on graphkit with only its imports changed: a 2-layer GCN on a Planetoid graph, with
PyG's ``NormalizeFeatures`` and ``RandomNodeSplit`` transforms.

Data: by default the Planetoid fixture that ships in the source tree (``datasets/fixtures/standard/Drosophila``:
the drosophila larva connectome written in Planetoid's raw layout, ``ind.drosophila.{x,tx,allx,y,...}``). With
``--name Cora --root DIR`` (or CiteSeer, PubMed) the real data set is downloaded into ``DIR/Cora/raw`` on first use
and read by the same code; without a network that is one line naming the files to fetch.

To run the very same script on PyG, swap each ``graphkit`` import for the PyG import in its comment: nothing else
changes (``tests/cli/test_examples.py`` makes that swap and runs both).

    python examples/planetoid_gcn.py                          # the fixture, a few seconds
    python examples/planetoid_gcn.py --name Cora --root data  # the real Cora (2,708 nodes, 7 classes)
"""
import argparse
import os.path as osp

import torch
import torch.nn.functional as F

import graphkit.transforms as T  # PyG: import torch_geometric.transforms as T
from graphkit.datasets import Planetoid  # PyG: from torch_geometric.datasets import Planetoid
from graphkit.nn import GCNConv  # PyG: from torch_geometric.nn import GCNConv

from _data import run_example

FIXTURES = osp.join(osp.dirname(osp.abspath(__file__)), "..", "datasets", "fixtures", "standard")


class GCN(torch.nn.Module):
    def __init__(self, in_channels, hidden_channels, out_channels, dropout=0.5):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, out_channels)
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = self.conv1(x, edge_index).relu()
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


def main():
    parser = argparse.ArgumentParser(description="GCN on a Planetoid graph (PyG's first example)")
    parser.add_argument("--root", default=FIXTURES, help="folder holding NAME/raw (default: the bundled fixture)")
    parser.add_argument("--name", default="Drosophila", help="Cora, CiteSeer, PubMed, or the fixture's Drosophila")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    transform = T.Compose([T.NormalizeFeatures(), T.RandomNodeSplit(split="train_rest", num_val=0.2, num_test=0.2)])
    dataset = Planetoid(args.root, args.name, transform=transform)
    data = dataset[0]  # the transform runs here, on access: a fresh random split of the nodes

    model = GCN(dataset.num_features, args.hidden, dataset.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=5e-4)

    def train():
        model.train()
        optimizer.zero_grad()
        out = model(data.x, data.edge_index)
        loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
        loss.backward()
        optimizer.step()
        return loss.item()

    @torch.no_grad()
    def test():
        model.eval()
        pred = model(data.x, data.edge_index).argmax(dim=-1)
        return [int((pred[mask] == data.y[mask]).sum()) / int(mask.sum())
                for mask in (data.train_mask, data.val_mask, data.test_mask)]

    best_val = test_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        loss = train()
        train_acc, val_acc, tmp_test_acc = test()
        if val_acc > best_val:
            best_val, test_acc = val_acc, tmp_test_acc
        if epoch % 50 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:03d}  loss {loss:.4f}  train {train_acc:.4f}  val {val_acc:.4f}  "
                  f"test {tmp_test_acc:.4f}")
    print(f"{args.name}: {data.num_nodes} nodes, {dataset.num_classes} classes; "
          f"best val {best_val:.4f}, test at best val {test_acc:.4f}")


if __name__ == "__main__":
    run_example(main)
