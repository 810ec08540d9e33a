"""Multi-process training with features partitioned across ranks: the worker the tests and the benchmark spawn.

:func:`prepare` writes a graph to a folder the way a deployment would lay it out for ``W`` ranks: the structure,
labels, split and partition in ``graph.pt`` (replicated), and each part's feature rows in its own
``x{r}.npy``. :func:`run_rank` is one rank: it memory-maps only its own ``x{r}.npy`` (no rank ever holds all
features), builds a :class:`~graphkit.loader.DistFeatureStore` over a gloo process group, trains GraphSAGE with
DDP on ``NodeBatches`` (its ``NeighborLoader`` gathers through the store), evaluates on its part's nodes
(sampled neighbourhoods gathered through the store; correct counts all-reduced) and writes its metrics,
per-epoch times and the store's byte counters to JSON. :func:`spawn` runs ``W`` of them on 127.0.0.1.

With ``W = 1`` the same code is the one-process reference (one part, nothing fetched).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from graphkit.graph import Graph
from graphkit.loader import DistFeatureStore, FeatureStore, NeighborLoader, Partition, partition_graph

__all__ = ["prepare", "run_rank", "spawn"]


def prepare(graph: Graph, train_idx: torch.Tensor, eval_idx: torch.Tensor, world_size: int, folder: Path,
            method: str = "auto", seed: int = 0) -> Partition:
    """Partition ``graph`` into ``world_size`` parts and write ``graph.pt`` plus one ``x{r}.npy`` per part."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    part = partition_graph(graph, world_size, method, seed=seed)
    torch.save({"edge_index": graph.edge_index, "y": graph.y, "num_nodes": graph.num_nodes, "part": part.part,
                "train": train_idx, "eval": eval_idx, "width": graph.x.size(1)}, folder / "graph.pt")
    for r in range(world_size):
        np.save(folder / f"x{r}.npy", graph.x[part.owned(r)].numpy())
    # a digest of every row (its sum), not the rows: lets a rank check what it gathered without holding them
    np.save(folder / "rowsum.npy", graph.x.double().sum(1).numpy())
    return part


def run_rank(rank: int, world_size: int, port: int, folder: str, cfg: Dict[str, Any], out: str) -> None:
    """One rank (see the module docstring); ``cfg``: epochs, batch_size, fanouts, hidden, lr, cache, seed,
    eval (bool), verify (check every gathered row against ``rowsum.npy``), threads, timeout."""
    import torch.distributed as dist
    import torch.nn.functional as F

    from graphkit.nn import GraphSAGE
    from graphkit.train.distributed import NodeBatches, cleanup, wrap_ddp

    torch.set_num_threads(int(cfg.get("threads", 1)))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    if world_size > 1:
        dist.init_process_group("gloo", rank=rank, world_size=world_size,
                                timeout=__import__("datetime").timedelta(seconds=float(cfg.get("timeout", 60))))
    meta = torch.load(Path(folder) / "graph.pt")
    part = Partition(meta["part"], world_size)
    local = FeatureStore.from_npy(Path(folder) / f"x{rank}.npy")  # this part's rows only, memory-mapped
    graph = Graph(edge_index=meta["edge_index"], y=meta["y"], num_nodes=meta["num_nodes"])
    if world_size > 1:
        store = DistFeatureStore(local, part, cache_size=int(cfg.get("cache", 0)),
                                 cache_score=DistFeatureStore.out_degree(graph))
    else:
        store = local
    fanouts = list(cfg.get("fanouts", [8, 4]))
    batches = NodeBatches(graph, meta["train"], fanouts, int(cfg.get("batch_size", 128)), features=store,
                          seed=int(cfg.get("seed", 0)), partition=part if world_size > 1 else None)
    torch.manual_seed(int(cfg.get("seed", 0)))  # same initial weights everywhere (DDP also broadcasts rank 0's)
    classes = int(meta["y"].max()) + 1
    model = wrap_ddp(GraphSAGE(int(meta["width"]), int(cfg.get("hidden", 32)), len(fanouts), classes))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.get("lr", 0.01)))
    rowsum = torch.from_numpy(np.load(Path(folder) / "rowsum.npy")) if cfg.get("verify") else None
    checked = 0
    epochs: List[Dict[str, Any]] = []
    for epoch in range(int(cfg.get("epochs", 4))):
        batches.epoch = epoch
        if isinstance(store, DistFeatureStore):
            store.reset_stats()
        t0 = time.perf_counter()
        waited = 0.0  # time the training loop stood waiting for its next batch (the rest was hidden)
        it = iter(batches)
        while True:
            t1 = time.perf_counter()
            batch = next(it, None)
            waited += time.perf_counter() - t1
            if batch is None:
                break
            opt.zero_grad()
            n = batch.batch_size
            if rowsum is not None:
                if not torch.allclose(batch.x.double().sum(1), rowsum[batch.n_id], atol=1e-4):
                    raise AssertionError(f"rank {rank}: a gathered row differs from the original")
                checked += batch.n_id.numel()
            loss = F.cross_entropy(model(batch.x, batch)[:n], batch.y[:n].view(-1))
            loss.backward()
            opt.step()
        record: Dict[str, Any] = {"epoch": epoch, "seconds": time.perf_counter() - t0, "steps": len(batches),
                                  "waited": waited}
        if isinstance(store, DistFeatureStore):
            record.update(store.stats())
        epochs.append(record)
    metrics: Dict[str, Any] = {"rank": rank, "world_size": world_size, "epochs": epochs,
                               "local_rows": local.num_rows, "num_rows": graph.num_nodes, "rows_checked": checked}
    if cfg.get("eval", True):
        metrics["acc"] = _evaluate(model, graph, store, part, meta["eval"], fanouts, rank, world_size)
    if isinstance(store, DistFeatureStore):
        metrics["cache_fill_bytes"] = store.stats()["bytes_cache_fill"]
    with open(f"{out}.rank{rank}.json", "w") as f:
        json.dump(metrics, f)
    if world_size > 1:
        dist.barrier()  # nobody tears the group down while a peer still exchanges
    cleanup()


@torch.no_grad()
def _evaluate(model: torch.nn.Module, graph: Graph, store: FeatureStore, part: Partition, idx: torch.Tensor,
              fanouts: List[int], rank: int, world_size: int) -> float:
    """Accuracy on ``idx``: each rank scores its part's nodes in one sampled batch (one collective gather)."""
    import torch.distributed as dist

    mine = idx[part.part[idx] == rank] if world_size > 1 else idx
    loader = NeighborLoader(graph, [4 * f for f in fanouts], mine, batch_size=max(1, mine.numel()),
                            features=store, seed=12345, prefetch=0)
    batch = next(iter(loader))
    model.eval()
    pred = model(batch.x, batch)[: batch.batch_size].argmax(-1)
    counts = torch.tensor([float((pred == batch.y[: batch.batch_size].view(-1)).sum()), float(mine.numel())])
    if world_size > 1:
        dist.all_reduce(counts)
    return float(counts[0] / counts[1])


def spawn(world_size: int, folder: Path, cfg: Dict[str, Any], out: Path, port: Optional[int] = None
          ) -> List[Dict[str, Any]]:
    """Run :func:`run_rank` on ``world_size`` processes (``torch.multiprocessing.spawn``, gloo, 127.0.0.1);
    returns each rank's metrics."""
    import torch.multiprocessing as mp

    from graphkit.train.distributed import free_port

    port = port or free_port()
    mp.spawn(run_rank, args=(world_size, port, str(folder), cfg, str(out)), nprocs=world_size, join=True)
    return [json.loads(Path(f"{out}.rank{r}.json").read_text()) for r in range(world_size)]
