"""Mesh shape classification with MeshConv on MeshCNN edge graphs vs an MLP on feature statistics.

``graphkit.datasets.MeshShapes`` turns real meshes (CGAL, pyvista; five classes) into MeshCNN edge graphs
(``graphkit.data.mesh_edge_graph``): one node per mesh edge with MeshCNN's five features and its four
neighbouring edges in gemm order. Each object comes as a few anisotropically stretched variants.

Evaluation. There are only a few dozen objects, so a single object-level split tests ~7 of them and one object
moves its accuracy by 0.14. The script therefore runs leave-objects-out ``--folds``-fold cross-validation
(``graphkit.datasets.shapes.object_folds``): every object is tested exactly once, by a model that never saw any
variant of it; within each fold one other object per class validates (model selection: the epoch with the lowest
validation cross-entropy, never the test split) and the rest train. Reported: meshes and objects classified
correctly over all folds (an object's prediction averages the softmax of its variants), the mean and standard
deviation of the per-fold mesh accuracy, and a paired sign test over the objects the two models disagree on.

Model (MeshCNN's MResConv design): MeshConv 5 -> h, then residual blocks ``h + norm(conv(relu(norm(conv(h)))))``
with LayerNorm, mean+max pooling over edges, and a dropout MLP head. MeshConv takes the ``[E, 4]`` neighbour
index (``-1`` = boundary). Training uses MeshCNN's augmentation: ``scale_verts`` (an anisotropic scale uniform in
``[1 - s, 1 + s]`` per axis) and ``slide_verts`` (a share of the vertices in flat regions slide part-way along an
incident edge, changing the triangulation's features but not the shape), with the edge graph rebuilt from the
moved vertices. ``--copies`` augmented copies of every stored variant are made once (rebuilding edge graphs on
every draw would cost as much as training the MLP many times over) and every training draw picks one at random.
Evaluation uses the stored variants unchanged.

Global descriptors of the edge graph (``graphkit.data.spectral``), because local convolutions followed by a
global pooling do not see how the whole shape is put together (a knotted tube and a smooth limb look alike
locally): ``--dna K`` (default 15) appends the ``K`` ShapeDNA eigenvalue ratios of the edge graph's Laplacian to
the pooled vector (the shape's global vibration pattern: a ring's eigenvalues come in pairs, a sphere's in groups
of 3, 5, ...). Also available, and not better on validation: ``--hks T``, a heat kernel signature at ``T``
diffusion times added to every edge's input features, and ``--genus 1``, the surface's genus from
``V - E + F``. All come from the connectivity alone, so one sparse eigendecomposition per object serves all its
variants and augmented copies (a few seconds in all). The default was chosen with ``--select`` (below) among
none / HKS / ShapeDNA / both / with genus: pooled validation cross-entropy 1.195 / 1.196 / 1.115 / 1.140 /
1.120 (HKS + ShapeDNA + genus) and 1.212 (ShapeDNA + genus); the test folds played no part.

``--pool 0.6,0.6`` gives MeshCNN's pooled architecture: after each residual block a ``graphkit.nn.MeshPool``
collapses the edges with the smallest feature norm until that share of each mesh's edges is left (MeshCNN's edge
collapse, which keeps a valid manifold edge graph in gemm order), so the next block convolves over a coarser mesh
and the global pooling reads it. Off by default (the default run is the 84/136 one examples/README.md reports).

Baseline: an MLP on the mean and standard deviation of each mesh's five input features, trained identically
(same augmentation, optimiser, schedule and selection). It does not get the spectral descriptors: they are what
the graph adds.

``--select`` is the model-selection mode: it runs the same folds but reports only the selected epochs' pooled
validation cross-entropy and accuracy, and never scores a test fold; designs are compared with it.

    python examples/mesh_meshcnn.py [--folds 5] [--epochs 25] [--hidden 24] [--stretch 0.2] [--slide 0.2] [--copies 6]
                                    [--dna 15] [--hks 0] [--genus 0] [--pool 0.6,0.6] [--select]

Data: CGAL's meshes (``apt-get install libcgal-demo``) or pyvista's (``pip install --no-deps pyvista==0.49.1``);
``make examples`` installs the data of every example.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.batch import Batch
from graphkit.data import mesh_edge_graph
from graphkit.data.spectral import heat_kernel_signature, laplacian_eigenpairs, shape_dna
from graphkit.datasets import MeshShapes
from graphkit.datasets.shapes import object_folds
from graphkit.graph import Graph
from graphkit.nn import MeshConv, MeshPool, global_max_pool, global_mean_pool
from graphkit.train.custom import SupervisedTask, accuracy, fit_supervised


def neighbours(batch: Batch) -> Tensor:
    """MeshConv's ``[E, 4]`` neighbour index (``-1`` = missing) from the batched ``gemm``/``gemm_mask`` fields."""
    return torch.where(batch.gemm_mask, batch.gemm.t(), torch.full_like(batch.gemm_mask, -1, dtype=torch.long))


class ResBlock(torch.nn.Module):
    """``relu(h + norm(conv(relu(norm(conv(h))))))``: two MeshConvs with a skip connection (MeshCNN's MResConv)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = MeshConv(hidden, hidden), MeshConv(hidden, hidden)
        self.norm1, self.norm2 = torch.nn.LayerNorm(hidden), torch.nn.LayerNorm(hidden)

    def forward(self, h: Tensor, nbr: Tensor) -> Tensor:
        y = F.relu(self.norm1(self.conv1(h, nbr)))
        return F.relu(h + self.norm2(self.conv2(y, nbr)))


class MeshNet(torch.nn.Module):
    """MeshConv residual network on ``x`` (and the per-edge ``hks`` field if ``hks > 0``), mean+max pooled; the
    per-mesh ``glob`` field (``glob > 0`` values) joins the pooled vector before the head."""

    def __init__(self, classes: int, hidden: int = 32, blocks: int = 2, dropout: float = 0.5, hks: int = 0,
                 glob: int = 0, pools: Sequence[float] = ()) -> None:
        super().__init__()
        self.hks, self.glob = hks, glob
        self.lift, self.norm = MeshConv(5 + hks, hidden), torch.nn.LayerNorm(hidden)
        self.blocks = torch.nn.ModuleList([ResBlock(hidden) for _ in range(blocks)])
        if len(pools) > blocks:
            raise ValueError(f"--pool takes at most one share per block ({blocks}), got {list(pools)}")
        self.pools = torch.nn.ModuleList([MeshPool(share) for share in pools])  # after blocks 1, 2, ...
        self.head = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(2 * hidden + glob, 64),
                                        torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(64, classes))

    def forward(self, batch: Batch) -> Tensor:
        nbr = neighbours(batch)
        x = torch.cat([batch.x, batch.hks], 1) if self.hks else batch.x
        h = F.relu(self.norm(self.lift(x, nbr)))
        verts, index = batch.edge_vertices, batch.batch
        for i, block in enumerate(self.blocks):
            h = block(h, nbr)
            if i < len(self.pools):  # MeshCNN's pooled design: collapse the weakest edges, then convolve again
                out = self.pools[i](h, nbr, verts, index)
                h, nbr, verts, index = out.x, out.nbr, out.edge_vertices, out.batch
        pooled = [global_mean_pool(h, index, batch.num_graphs), global_max_pool(h, index, batch.num_graphs)]
        if self.glob:
            pooled.append(batch.glob)
        return self.head(torch.cat(pooled, 1))


class StatsMLP(torch.nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, classes))

    def forward(self, batch: Batch) -> Tensor:
        mean = global_mean_pool(batch.x, batch.batch, batch.num_graphs)
        sq = global_mean_pool(batch.x * batch.x, batch.batch, batch.num_graphs)
        return self.net(torch.cat([mean, (sq - mean * mean).clamp(min=0).sqrt()], 1))


def slide_verts(v: np.ndarray, f: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """MeshCNN's ``slide_verts``: up to ``share`` of the vertices, among those whose incident faces are all within
    ~30 degrees of the vertex normal (flat regions, where sliding keeps the surface), move a fraction in
    ``[0.2, 0.5]`` of the way along one random incident edge."""
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for j in range(3):
        np.add.at(vn, f[:, j], n)
    unit = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)
    cos = np.ones(len(v))
    for j in range(3):
        np.minimum.at(cos, f[:, j], (unit * vn[f[:, j]]).sum(1))
    # one random corner per vertex: a random incident face, and the next vertex of that face as the edge's end
    corners = rng.permutation(f.size)
    first = np.unique(f.reshape(-1)[corners], return_index=True)
    vert, corner = first[0], corners[first[1]]
    other = f.reshape(-1)[(corner // 3) * 3 + (corner % 3 + 1) % 3]
    move = (cos[vert] > 0.866) & (rng.random(len(vert)) < share)
    t = rng.uniform(0.2, 0.5, size=int(move.sum()))[:, None]
    out = v.copy()
    out[vert[move]] += t * (v[other[move]] - v[vert[move]])
    return out


class Descriptors:
    """Adds the edge graph's descriptors to a mesh's graph: ``hks [E, T]`` (heat kernel signature per edge) and
    ``glob [1, K + genus]`` (ShapeDNA ratios, then the mean genus per connected surface if ``genus``).

    They depend on the connectivity only, so one eigendecomposition per object serves all its variants and
    augmented copies (a graph whose edges differ, e.g. after a dropped face, gets its own)."""

    def __init__(self, times: int, dna: int, genus: bool, k: int = 48) -> None:
        self.times, self.dna, self.genus, self.k = times, dna, genus, k
        self.cache: Dict[int, tuple] = {}

    def __call__(self, g: Graph, obj: int) -> Graph:
        if not (self.times or self.dna or self.genus):
            return g
        hit = self.cache.get(obj)
        if hit is None or not torch.equal(hit[0], g.edge_index):
            pairs = laplacian_eigenpairs(g.edge_index, g.num_nodes, max(self.k, self.dna + 1))
            hks = (heat_kernel_signature(g.edge_index, g.num_nodes, self.times, eigenpairs=pairs) if self.times
                   else torch.zeros(g.num_nodes, 0))
            glob = [shape_dna(g.edge_index, g.num_nodes, max(self.dna, 1) + 1, eigenpairs=pairs)[: self.dna]]
            if self.genus:
                # Euler characteristic V - E + F of the surface (every face has 3 edges, an inner edge 2 faces);
                # 1 - chi / 2 per connected surface is its genus when closed (boundary loops add 1/2 each)
                edges, boundary = g.num_nodes, int(g.num_boundary_edges)
                chi = g.edge_vertices.unique().numel() - edges + (2 * edges - boundary) / 3
                glob.append(torch.tensor([1 - chi / (2 * pairs[2])]))
            hit = (g.edge_index, hks, torch.cat(glob).float().view(1, -1))
            self.cache.setdefault(obj, hit)
        g.set("hks", hit[1], "node")
        g.set("glob", hit[2], "graph")
        return g


def augmented(ds: MeshShapes, i: int, stretch: float, slide: float, rng: np.random.Generator,
              descriptors: Descriptors) -> Graph:
    """Variant ``i`` with a fresh random stretch and vertex slide, as a standardised edge graph."""
    o = int(ds.object[i])
    verts = ds.verts[ds.vptr[i]:ds.vptr[i + 1]].numpy()
    faces = ds.faces[ds.fptr[o]:ds.fptr[o + 1]].numpy()
    verts = verts * rng.uniform(1 - stretch, 1 + stretch, size=3)
    if slide > 0:
        verts = slide_verts(verts, faces, slide, rng)
    g = mesh_edge_graph(torch.from_numpy(verts), torch.from_numpy(faces))
    g.x = (g.x.float() - ds.mean) / ds.std  # the stored statistics, as for the stored variants
    g.pos = g.pos.float()
    g.set("y", ds.y[i], "graph")
    return descriptors(g, o)


def inputs_for(model: torch.nn.Module, graphs: List[Graph], pool: List[List[Graph]],
               seed: int) -> Callable[[Tensor], Batch]:
    """Sample ids -> Batch: a random augmented copy of each mesh while the model trains, the stored variant
    otherwise."""
    gen = torch.Generator().manual_seed(seed)

    def inputs(idx: Tensor) -> Batch:
        if model.training and pool:
            pick = torch.randint(len(pool), (idx.numel(),), generator=gen).tolist()
            return Batch.from_graphs([pool[j][i] for j, i in zip(pick, idx.tolist())])
        return Batch.from_graphs([graphs[i] for i in idx.tolist()])

    return inputs


class MeshTask(SupervisedTask):
    """Scores every split by cross-entropy (``loss``, the model-selection metric) and accuracy (``acc``)."""

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        scores = {}
        for split, ids in self.eval_split.items():
            out, y = self.predict(ids), self.targets[ids]
            scores[split] = {"loss": float(F.cross_entropy(out, y)), "acc": accuracy(out, y)}
        return scores


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial (sign) test p-value of ``wins`` vs ``losses`` under a fair coin."""
    n, k = wins + losses, min(wins, losses)
    return min(1.0, 2 * sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n) if n else 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--folds", type=int, default=5, help="leave-objects-out cross-validation folds")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--hidden", type=int, default=24)
    parser.add_argument("--blocks", type=int, default=2, help="residual MeshConv blocks after the first MeshConv")
    parser.add_argument("--stretch", type=float, default=0.2, help="training-time scale range per axis (0: off)")
    parser.add_argument("--slide", type=float, default=0.2, help="share of flat vertices slid per draw (0: off)")
    parser.add_argument("--copies", type=int, default=6, help="augmented copies of every variant to draw from (0: off)")
    parser.add_argument("--dropout", type=float, default=0.5, help="dropout in MeshNet's head")
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--hks", type=int, default=0, help="heat kernel signature times per edge (0: off)")
    parser.add_argument("--dna", type=int, default=15, help="ShapeDNA eigenvalue ratios per mesh (0: off)")
    parser.add_argument("--genus", type=int, choices=(0, 1), default=0,
                        help="1: append the surface's genus (from V - E + F) to the pooled vector")
    parser.add_argument("--pool", default="", help="MeshCNN pooling after the blocks: comma-separated shares of "
                        "each mesh's edges kept, e.g. 0.6,0.6 (empty: no pooling)")
    parser.add_argument("--select", action="store_true",
                        help="model selection only: report validation scores, never touch the test folds")
    parser.add_argument("--max-faces", type=int, default=6000, help="MeshShapes keeps meshes up to this size")
    parser.add_argument("--out", default="runs/examples/mesh_meshcnn", help="run folders go here")
    args = parser.parse_args()
    ds = MeshShapes(root=args.root, max_faces=args.max_faces)
    t0 = start = time.time()
    descriptors = Descriptors(args.hks, args.dna, bool(args.genus))
    # the stored variants' edge graphs (and spectral descriptors) are built once, then reused
    graphs = [descriptors(ds[i], int(ds.object[i])) for i in range(len(ds))]
    edges = sum(g.num_nodes for g in graphs)
    print(f"MeshShapes: {len(ds.objects)} meshes, {len(ds)} variants, {edges:,} mesh edges in all "
          f"(edge graphs built in {time.time() - t0:.1f} s); {args.folds}-fold leave-objects-out CV")

    t0 = time.time()
    rng = np.random.default_rng(0)
    pool = [[augmented(ds, i, args.stretch, args.slide, rng, descriptors) for i in range(len(ds))]
            for _ in range(args.copies)]
    print(f"{args.copies} augmented copies of every variant built in {time.time() - t0:.0f} s", flush=True)

    folds = object_folds(ds.objects, args.folds)
    names = ("meshconv", "mlp", "majority")
    probs = {m: torch.zeros(len(ds), ds.num_classes) for m in names}  # test-fold predictions of every variant
    seconds = {m: 0.0 for m in names}
    valid = {m: [] for m in names[:2]}  # per fold: the selected epoch's validation (loss, accuracy, meshes)
    for k, fold in enumerate(folds):
        split = {s: torch.isin(ds.object, torch.tensor(ids)).nonzero().view(-1) for s, ids in fold.items()}

        def fit(make_model: Callable[[], torch.nn.Module], name: str) -> None:
            torch.manual_seed(k)
            model = make_model()
            task = MeshTask(model, inputs_for(model, graphs, pool, seed=1000 + k), ds.y, split, metric="loss",
                            mode="min", batch_size=8, eval_batch_size=64, train_eval=16)
            del task.eval_split["test"]  # the test fold is scored once, after selection, and never seen before
            res = fit_supervised(task, Path(args.out) / f"fold{k}" / name, args.epochs, lr=2e-3,
                                 weight_decay=args.weight_decay, verbose=False)
            best = res["final"]["valid"]
            valid[name].append((best["loss"], best["acc"], split["valid"].numel()))
            seconds[name] += res["seconds"]
            if not args.select:
                model.eval()  # the best validation epoch's weights are loaded back; score the test fold with them
                probs[name][split["test"]] = task.predict(split["test"]).softmax(-1)

        pools = [float(p) for p in args.pool.split(",") if p]
        fit(lambda: MeshNet(ds.num_classes, args.hidden, args.blocks, args.dropout, args.hks,
                    args.dna + args.genus, pools), "meshconv")
        fit(lambda: StatsMLP(ds.num_classes), "mlp")
        if args.select:
            print(f"fold {k}: validation loss / accuracy  " + "  ".join(
                f"{m} {valid[m][-1][0]:.3f} / {valid[m][-1][1]:.3f}" for m in valid), flush=True)
            continue
        probs["majority"][split["test"], int(torch.bincount(ds.y[split["train"]]).argmax())] = 1.0
        test = split["test"]
        accs = "  ".join(f"{m} {accuracy(probs[m][test], ds.y[test]):.3f}" for m in names)
        print(f"fold {k}: {len(fold['train'])} train / {len(fold['valid'])} valid / {len(fold['test'])} test "
              f"objects, test meshes {test.numel()}:  {accs}", flush=True)

    if args.select:  # model selection across designs: compare these, not test scores
        for m, v in valid.items():
            n = sum(c for _, _, c in v)
            print(f"{m}: validation loss {sum(l * c for l, _, c in v) / n:.3f}, accuracy "
                  f"{sum(a * c for _, a, c in v) / n:.3f} (meshes of all folds pooled; training {seconds[m]:.0f} s)")
        print(f"total {time.time() - start:.0f} s")
        return

    # Per mesh, per object (softmax averaged over its variants) and per fold.
    obj_y = torch.zeros(len(ds.objects), dtype=torch.long).scatter_(0, ds.object, ds.y)
    right_obj = {}
    print(f"\nleave-objects-out CV over all {len(ds.objects)} objects ({len(ds)} meshes), every one tested once:")
    for m, label in zip(names, ("MeshConv network         ", "MLP on feature statistics", "training-majority class  ")):
        right_mesh = probs[m].argmax(1) == ds.y
        obj_p = torch.zeros(len(ds.objects), ds.num_classes).index_add_(0, ds.object, probs[m])
        right_obj[m] = obj_p.argmax(1) == obj_y
        per_fold = torch.tensor([float(right_mesh[torch.isin(ds.object, torch.tensor(f["test"]))].float().mean())
                                 for f in folds])
        print(f"{label}: meshes {int(right_mesh.sum())}/{len(ds)} = {float(right_mesh.float().mean()):.3f}, "
              f"objects {int(right_obj[m].sum())}/{len(ds.objects)}, per-fold accuracy "
              f"{float(per_fold.mean()):.3f} +- {float(per_fold.std()):.3f}  (training {seconds[m]:.0f} s)")
    wins = int((right_obj["meshconv"] & ~right_obj["mlp"]).sum())
    losses = int((~right_obj["meshconv"] & right_obj["mlp"]).sum())
    print(f"objects only MeshConv gets right: {wins}; only the MLP: {losses}; "
          f"sign test p = {sign_test(wins, losses):.2f}")
    for c, cls in enumerate(ds.classes):
        members = obj_y == c
        print(f"  {cls:9s}: objects right, MeshConv {int(right_obj['meshconv'][members].sum())} / MLP "
              f"{int(right_obj['mlp'][members].sum())} of {int(members.sum())}")
    for m in ("meshconv", "mlp"):
        wrong = [ds.objects[i][1] for i in (~right_obj[m]).nonzero().view(-1).tolist()]
        print(f"  {m} misses: {', '.join(wrong)}")
    print(f"total {time.time() - start:.0f} s")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
