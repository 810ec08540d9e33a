"""The ``graphkit`` command: ``train``, ``datasets`` and ``info``.

    graphkit train [--task node|link|graph] [--dataset NAME] [--model NAME] [--epochs N] [--out DIR]
                   [--resume] [--config FILE.yaml] [--lr X] [--hidden N] [--layers N] [--seed N] [--device D]
                   [--nproc N]
    graphkit datasets
    graphkit info

Every expected failure (bad arguments, unknown data set, no network, damaged checkpoint) prints one line,
``graphkit: error: ...``, and exits non-zero; tracebacks are for bugs only.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

__all__ = ["main", "build_parser"]

EXIT_USAGE, EXIT_FAILURE = 2, 1


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the whole usage block; we want one line
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    from graphkit.train.config import TASKS

    p = _Parser(prog="graphkit", description="graphkit: graph learning on one sparse batch.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a model (default: GCN on the embedded drosophila connectome)")
    t.add_argument("--task", choices=TASKS, help="node, link or graph prediction (default: from the data set)")
    t.add_argument("--dataset", help="an OGB name (ogbn-arxiv), a registry name, or an OGB-format folder")
    t.add_argument("--model", help="gcn, sage, gin; for link prediction also ncn")
    t.add_argument("--epochs", type=int)
    t.add_argument("--out", help="run folder (default: runs/<dataset>-<model>[-N])")
    t.add_argument("--resume", action="store_true", help="continue the run in --out (or the newest default one)")
    t.add_argument("--config", help="YAML file of settings; flags override it")
    t.add_argument("--root", help="where OGB data sets live (default: $GRAPHKIT_DATA or ~/.cache/graphkit/ogb)")
    for name, typ in (("lr", float), ("hidden", int), ("layers", int), ("dropout", float), ("seed", int),
                      ("batch-size", int), ("patience", int), ("clip", float)):
        t.add_argument(f"--{name}", type=typ)
    t.add_argument("--scheduler", choices=("cosine", "step", "none"))
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, ...")
    t.add_argument("--amp", choices=("auto", "on", "off"), help="bfloat16 autocast (auto: on a GPU only)")
    t.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="bit-reproducible CPU runs on one thread (default: on)")
    t.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes on this machine (torch.distributed: gloo on CPU, NCCL on GPU)")
    t.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help=argparse.SUPPRESS)
    d = sub.add_parser("datasets", help="list the data sets graphkit can load and which are on disk")
    d.add_argument("--root", help="where OGB data sets live (default: $GRAPHKIT_DATA or ~/.cache/graphkit/ogb)")
    sub.add_parser("info", help="versions, kernel backend and devices")
    return p


def _train(args: argparse.Namespace) -> int:
    from graphkit.train.config import TrainConfig, load_yaml
    from graphkit.train.run import run

    base = TrainConfig.from_dict(load_yaml(args.config), args.config) if args.config else TrainConfig()
    flags = {k: getattr(args, k) for k in ("task", "dataset", "model", "epochs", "out", "root", "lr", "hidden",
                                             "layers", "dropout", "seed", "batch_size", "patience", "clip",
                                             "scheduler", "device", "amp", "deterministic")}
    if args.epochs is not None and args.epochs < 1:
        raise _UsageError(f"--epochs must be at least 1, got {args.epochs}")
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    run(base.merged(flags), resume=args.resume, progress=progress)
    return 0


def _check_distributed(args: argparse.Namespace) -> None:
    """Refuse what the workers would refuse, here, as one line (not N workers' errors and torchrun's report)."""
    from graphkit.train.run import DEFAULT_DATASET, load_dataset

    _, task = load_dataset(args.dataset or DEFAULT_DATASET, args.root)
    if (args.task or task) != "node":
        raise _UsageError(f"--nproc supports node prediction; {args.dataset} is a {args.task or task} prediction "
                          "data set")


def _datasets(root: Optional[str] = None) -> int:
    from graphkit.datasets import registry
    from graphkit.datasets.ogb import dataset_dir
    from graphkit.train.run import fixtures_dir
    from graphkit.train.summary import format_table

    fixtures_dir()  # registers the committed OGB-format fixtures
    rows = []
    for name, info in registry.available(root).items():
        where = str(dataset_dir(name, root)) if info["kind"] in ("ogbn", "ogbl", "ogbg") else ""
        rows.append([name, info["kind"], "yes" if info["on_disk"] else "no", info["description"], where])
    print(format_table(["name", "kind", "on disk", "description", "folder"], rows))
    return 0


def _info() -> int:
    import platform

    import torch

    import graphkit

    try:
        from graphkit.ops import backend

        kernel = backend()
    except ImportError as exc:
        kernel = f"unavailable ({exc})"
    lines = [f"graphkit {graphkit.__version__}", f"python {platform.python_version()} ({sys.executable})",
             f"torch {torch.__version__}", f"kernel backend: {kernel}"]
    for mod in ("ogb", "numpy", "torch_geometric"):
        try:
            lines.append(f"{mod} {__import__(mod).__version__}")
        except Exception:
            lines.append(f"{mod}: not installed")
    devices = ["cpu"] + [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    lines.append(f"devices: {', '.join(devices)}")
    lines.append(f"threads: {torch.get_num_threads()}")
    print("\n".join(lines))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``graphkit`` console script; returns the exit status."""
    from graphkit.datasets.ogb import OGBDownloadError
    from graphkit.train.checkpoint import CheckpointError

    try:
        args = build_parser().parse_args(argv)
        if args.command == "train" and args.nproc != 1:
            if args.nproc < 1:
                raise _UsageError(f"--nproc must be at least 1, got {args.nproc}")
            if "LOCAL_RANK" not in os.environ:  # the launcher itself: start the workers, wait for them
                from graphkit.train.distributed import launch

                _check_distributed(args)
                return launch(args.nproc, list(sys.argv[1:] if argv is None else argv))
        if args.command == "train":
            return _train(args)
        if args.command == "datasets":
            return _datasets(args.root)
        if args.command == "info":
            return _info()
        build_parser().print_help()
        return EXIT_USAGE
    except _UsageError as exc:
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OGBDownloadError, CheckpointError, ValueError, ImportError, FloatingPointError) as exc:
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("graphkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
