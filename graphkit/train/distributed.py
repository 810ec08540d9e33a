"""Data-parallel training beyond one process: torch.distributed (gloo on CPU, NCCL on GPU) with DDP.

Each rank owns one METIS part of the graph (:func:`graphkit.loader.partition_graph`): it draws its training
seeds from its own nodes and holds only its own and its halo's features (a ``PartitionedFeatureStore``), while
the structure is replicated. Every rank runs the same number of steps (the largest part's, smaller parts
recycle their seeds) with a per-rank batch of ``batch_size // world_size``, so one step sees the same global
batch size as single-process training, and DDP averages the gradients.

A rank that dies must not hang the others: the process group gets a short ``timeout`` and every collective
failure is re-raised as ``RuntimeError`` naming the rank, the world size and the timeout.

Training itself is the one ``Trainer`` (it wraps the model in DDP inside a process group); this module holds
the process group, the launcher and the per-rank batches. Entry points: :func:`launch` (what
``graphkit train --nproc N`` calls: re-runs a module under ``torch.distributed.run`` on 127.0.0.1) and
``python -m graphkit.train.distributed`` (a self-contained GraphSAGE node-classification run on a cSBM graph
through ``NodeTask`` and the ``Trainer``, used by the tests and as a smoke test of a cluster).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, nn

from graphkit.graph import Graph
from graphkit.loader.dist_feature_store import DistFeatureStore
from graphkit.loader.feature_store import FeatureStore
from graphkit.loader.neighbor_loader import NeighborLoader
from graphkit.loader.partition import Partition, PartitionedFeatureStore, partition_graph
from graphkit.loader.prefetch import Prefetcher
from graphkit.loader.sampler import mix_seed
from graphkit.ops._checks import check_positive_int

__all__ = [
    "init_distributed", "cleanup", "collective_guard", "launch", "strip_nproc", "free_port", "world",
    "wrap_ddp", "NodeBatches", "main",
]


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_distributed(backend: Optional[str] = None, timeout: float = 60.0) -> Tuple[int, int]:
    """Join the process group described by torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_*``).

    Returns ``(rank, world_size)``; ``(0, 1)`` without that environment. ``backend`` defaults to NCCL when CUDA
    is available, else gloo. ``timeout`` (seconds) bounds every collective, so a dead peer fails the others.
    """
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return 0, 1
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        # Without async error handling an NCCL collective on a dead peer blocks past the timeout.
        os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    return dist.get_rank(), dist.get_world_size()


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def collective_guard(what: str, timeout: float) -> Iterator[None]:
    """Re-raise a failed collective as a ``RuntimeError`` that says which rank saw it and why it likely failed."""
    try:
        yield
    except (RuntimeError, dist.DistBackendError) as exc:  # gloo: connection closed/timeout; NCCL: watchdog
        rank = dist.get_rank() if dist.is_initialized() else 0
        world = dist.get_world_size() if dist.is_initialized() else 1
        raise RuntimeError(
            f"rank {rank} of {world}: collective '{what}' failed; another rank probably died or stalled "
            f"(process-group timeout {timeout:g} s): {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def strip_nproc(argv: Sequence[str]) -> List[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N`` (the re-launched workers must not launch again)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def launch(nproc: int, argv: Sequence[str], module: str = "graphkit.cli", port: Optional[int] = None) -> int:
    """Run ``python -m module argv`` in ``nproc`` processes under ``torch.distributed.run`` on 127.0.0.1.

    Returns torchrun's exit code (non-zero when any worker failed; torchrun then stops the others).
    """
    check_positive_int("nproc", nproc)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--nnodes=1",
        "--master_addr=127.0.0.1", f"--master_port={port or free_port()}", "-m", module, *strip_nproc(argv),
    ]
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # keep gloo on loopback, whatever the hostname resolves to
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    return subprocess.call(cmd, env=env)


# ------------------------------------------------------------------------------------------- training
def world() -> Tuple[int, int]:
    """``(rank, world_size)`` of the current process group, ``(0, 1)`` without one."""
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def wrap_ddp(model: nn.Module, timeout: float = 60.0) -> nn.Module:
    """``DistributedDataParallel(model)`` inside a process group of more than one rank, else ``model``."""
    if world()[1] == 1:
        return model
    with collective_guard("DDP init (parameter broadcast)", timeout):
        if torch.cuda.is_available() and next(model.parameters()).is_cuda:
            return nn.parallel.DistributedDataParallel(model, device_ids=[torch.cuda.current_device()])
        return nn.parallel.DistributedDataParallel(model)


class NodeBatches:
    """This rank's node mini-batches, the same number of them on every rank.

    With one process: a shuffled ``NeighborLoader`` over ``train_idx``. With ``W`` ranks: the graph is
    partitioned (:func:`~graphkit.loader.partition_graph`, or ``partition``), this rank takes the training nodes
    of its part, uses batches of ``batch_size // W`` seeds (so a step sees the same global batch), and every epoch
    yields the largest part's number of batches (smaller parts recycle their seeds), so that DDP's collectives
    line up. Its features (``remote``):

    * ``"halo"``: its part's and its halo's rows (``PartitionedFeatureStore``), read once from ``features``;
    * ``"fetch"``: its part's rows only (``DistFeatureStore``); the rows of other parts are fetched per batch by
      one all-to-all, with the ``cache_size`` highest-out-degree remote rows cached. ``features`` may be a
      ``DistFeatureStore`` already (e.g. built from the part's own file): then no rank ever holds all rows.

    The batches are produced on one background thread that stops after exactly the epoch's steps, so a fetching
    store's exchanges (collectives) are issued the same number of times on every rank, batch ``k + 1``'s while
    batch ``k`` trains.

    Each batch: ``x`` (gathered rows), ``y`` and other node fields sliced by ``n_id``, ``batch_size`` seeds first.
    Epoch ``e``'s batches are a function of ``(seed, rank, e)``: set :attr:`epoch` (the Trainer does, through
    ``NodeTask.set_epoch``) and a resumed process draws what an uninterrupted one would.
    """

    def __init__(self, graph: Graph, train_idx: Tensor, num_neighbors: Sequence[int], batch_size: int = 512,
                 features: Optional[FeatureStore] = None, seed: int = 0, partition_method: str = "auto",
                 timeout: float = 60.0, partition: Optional[Partition] = None, remote: str = "halo",
                 cache_size: int = 0) -> None:
        if remote not in ("halo", "fetch"):
            raise ValueError(f"remote must be 'halo' or 'fetch', got {remote!r}")
        rank, size = world()
        if isinstance(features, DistFeatureStore):
            remote = "fetch"
            partition = partition or Partition(features.part.long(), features.world_size)
        if features is None:
            features = FeatureStore(graph.x, pin=False) if graph.x is not None else None
        seeds = train_idx.reshape(-1).long().cpu()
        if size > 1:
            part = partition or partition_graph(graph, size, partition_method, seed=seed)
            if part.num_parts != size:
                raise ValueError(f"partition.num_parts is {part.num_parts} but world_size is {size}")
            if features is not None and not isinstance(features, DistFeatureStore):
                if remote == "fetch":
                    with collective_guard("feature store set-up (partition check, cache fill)", timeout):
                        features = DistFeatureStore(features.gather(part.owned(rank)), part, cache_size=cache_size,
                                                    cache_score=DistFeatureStore.out_degree(graph))
                else:
                    halo = part.halo(graph, rank, hops=len(num_neighbors))
                    features = PartitionedFeatureStore(features, part.owned(rank), halo, pin=False)
            seeds = seeds[part.part[seeds] == rank]
            if seeds.numel() == 0:
                raise ValueError(f"rank {rank}: its part holds none of the {train_idx.numel()} training nodes")
        self.features = features
        self.timeout = timeout
        # prefetch=0: the one producer thread is ours (see __iter__), so it never runs ahead of the epoch's steps
        self.loader = NeighborLoader(graph, num_neighbors, seeds, max(1, batch_size // size), shuffle=True,
                                     features=features, seed=mix_seed(seed, rank), prefetch=0)
        steps = torch.tensor([len(self.loader)])
        if size > 1:
            with collective_guard("all_reduce(number of steps)", timeout):
                dist.all_reduce(steps, op=dist.ReduceOp.MAX)
        self.steps = int(steps)

    def __len__(self) -> int:
        return self.steps

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter()`` draws (0-based); counts up by one per epoch."""
        return self.loader.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.loader.epoch = int(value)

    def _steps(self) -> Iterator[Graph]:
        done = 0
        while done < self.steps:
            for batch in self.loader:
                yield batch
                done += 1
                if done == self.steps:
                    return

    def __iter__(self) -> Iterator[Graph]:
        batches = Prefetcher(self._steps(), depth=1)
        try:
            yield from batches  # a failed exchange raises there, naming the rank (graphkit.loader.exchange)
        finally:
            # Leaving an epoch early must not leave the prefetch thread inside a C++ sampler call: a rank
            # that then tears down its process group and exits aborts ("terminate called without an
            # active exception"), and torchrun takes the whole job down with it.
            batches.close(join=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Train GraphSAGE on a cSBM graph with mini-batches, alone or under torchrun; rank 0 writes metrics."""
    p = argparse.ArgumentParser(prog="python -m graphkit.train.distributed")
    p.add_argument("--nodes", type=int, default=2000)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--fanouts", type=str, default="10,5")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--remote-features", choices=("halo", "fetch"), default="halo",
                   help="halo: each rank holds its part's and halo's rows; fetch: its part's, the rest per batch")
    p.add_argument("--feature-cache", type=int, default=0, help="hot remote rows cached per rank (fetch)")
    p.add_argument("--out", type=str, default=None, help="JSON file for the metrics (rank 0)")
    p.add_argument("--kill-rank", type=int, default=-1, help="test hook: this rank exits abruptly ...")
    p.add_argument("--kill-step", type=int, default=2, help="... after this many steps")
    args = p.parse_args(argv)
    from graphkit.datasets.csbm import contextual_sbm
    from graphkit.train.config import TrainConfig
    from graphkit.train.node import NodeTask
    from graphkit.train.trainer import Trainer, seed_everything

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))))
    rank, size = init_distributed(timeout=args.timeout)
    graph = contextual_sbm(args.nodes, args.classes, num_features=16, avg_degree=8.0, homophily=0.8,
                           mu=1.0, noise=2.0, seed=args.seed)
    fanouts = [int(f) for f in args.fanouts.split(",")]
    split = {"train": graph.train_mask, "valid": graph.val_mask, "test": graph.test_mask}
    data = SimpleNamespace(name="csbm", graph=graph, task_type="multiclass classification", eval_metric="acc",
                           num_classes=args.classes, split={k: m.nonzero().view(-1) for k, m in split.items()})
    cfg = TrainConfig(task="node", model="sage", epochs=args.epochs, lr=args.lr, hidden=args.hidden,
                      layers=len(fanouts), dropout=0.0, batch_size=args.batch_size, patience=args.epochs,
                      scheduler="none", clip=0.0, seed=args.seed, device="cpu", remote_features=args.remote_features,
                      feature_cache=args.feature_cache).resolved()
    seed_everything(args.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    task = NodeTask(data, cfg, torch.device("cpu"), fanouts=fanouts)

    def on_step(epoch: int, step: int) -> None:
        if rank == args.kill_rank and step >= args.kill_step:
            os._exit(17)  # no cleanup, like a crashed machine

    with tempfile.TemporaryDirectory(prefix="graphkit-csbm-") as run_dir:
        result = Trainer(task, cfg, Path(run_dir), torch.device("cpu"), progress=False, on_step=on_step,
                         timeout=args.timeout).fit()
    if size > 1:
        with collective_guard("barrier before shutdown", args.timeout):
            dist.barrier()  # nobody tears the group down while a peer is still in a collective
    cleanup()
    final = result["final"]
    metrics = {"train": final["train"]["acc"], "val": final["valid"]["acc"], "test": final["test"]["acc"],
               "world_size": size}
    if rank == 0:
        print(json.dumps(metrics))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(metrics, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
