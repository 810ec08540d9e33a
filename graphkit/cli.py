"""The ``graphkit`` command: ``train``, ``evaluate``, ``datasets`` and ``info``.

    graphkit train [--task node|link|graph] [--dataset NAME] [--model NAME] [--epochs N] [--out DIR] [--resume]
                   [--config FILE.yaml] [--lr X] [--weight-decay X] [--hidden N] [--layers N] [--device D] ...
    graphkit evaluate --run DIR
    graphkit datasets
    graphkit info
    graphkit --version

Every expected failure (bad arguments or YAML values, unknown data set, data not installed, no network, damaged
checkpoint, diverged training) prints one line, ``graphkit: error: ...``, and exits non-zero; tracebacks are for
bugs only. Settings are checked before any data loads or any run folder is made.

Start-up stays fast: this module imports neither torch nor the training code until a command needs them, so
``graphkit --help`` and ``graphkit --version`` return at once.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

__all__ = ["main", "build_parser"]

EXIT_USAGE, EXIT_FAILURE = 2, 1


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the whole usage block; we want one line
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: ...)`` where argparse knows it; a ``None`` default is a task default, stated in the help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or "default:" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


def _task_default(name: str) -> str:
    """``(default: 0.01 node, 0.005 link, 0.003 graph)``, or one value when every task agrees."""
    from graphkit.train.config import TASK_DEFAULTS, TASKS

    values = [TASK_DEFAULTS[t][name] for t in TASKS]
    if len(set(map(str, values))) == 1:
        return f"(default: {values[0]})"
    return "(default: " + ", ".join(f"{v} for {t}" for v, t in zip(values, TASKS)) + ")"


def _field_default(name: str) -> str:
    from dataclasses import fields

    from graphkit.train.config import TrainConfig

    return f"(default: {next(f.default for f in fields(TrainConfig) if f.name == name)})"


def build_parser() -> argparse.ArgumentParser:
    from graphkit import __version__
    from graphkit.train.config import CHOICES, DEFAULT_CLIP, DEFAULT_DATASETS, MODELS, TASK_DEFAULTS, TASKS

    p = _Parser(prog="graphkit", description="graphkit: graph learning on one sparse batch.",
                formatter_class=_HelpFormatter)
    p.add_argument("--version", action="version", version=f"graphkit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="{train,evaluate,datasets,info}")
    t = sub.add_parser("train", help="train a model (default: GCN on the bundled drosophila connectome)",
                       formatter_class=_HelpFormatter,
                       description="Train a GNN on an OGB-format data set. Settings: defaults < the task's "
                                   "defaults < --config YAML < flags.")
    fixtures = ", ".join(f"{task} {name}" for task, name in DEFAULT_DATASETS.items())
    t.add_argument("--task", choices=TASKS,
                   help=f"prediction task (default: the data set's; alone, it picks the bundled data: {fixtures})")
    t.add_argument("--dataset", help="an OGB name (ogbn-arxiv), a `graphkit datasets` name, or an OGB-format "
                                     f"folder (default: the bundled data of --task, {DEFAULT_DATASETS['node']})")
    every_model = tuple(dict.fromkeys(m for ms in MODELS.values() for m in ms))
    t.add_argument("--model", type=str.lower, choices=every_model, metavar="MODEL",
                   help="; ".join(f"{task}: {', '.join(MODELS[task])}" for task in TASKS)
                   + f" {_task_default('model')}")
    t.add_argument("--epochs", type=int, help=f"most epochs to train {_task_default('epochs')}")
    t.add_argument("--out", help="run folder (default: runs/<dataset>-<model>[-N])")
    t.add_argument("--resume", action="store_true", help="continue the run in --out (or the newest default one)")
    t.add_argument("--config", help="YAML file of settings (the names below, with _ for -); flags override it "
                                    "(default: none)")
    t.add_argument("--root", help="where OGB data sets live (default: $GRAPHKIT_DATA or ~/.cache/graphkit/ogb)")
    t.add_argument("--lr", type=float, help=f"learning rate {_task_default('lr')}")
    t.add_argument("--weight-decay", type=float, help=f"L2 penalty of the optimiser {_task_default('weight_decay')}")
    t.add_argument("--optimizer", type=str.lower, help="adam, adamw or sgd (graphkit.train.base.OPTIMIZERS; "
                                                       f"checked before the data loads) {_field_default('optimizer')}")
    t.add_argument("--hidden", type=int, help=f"hidden channels {_task_default('hidden')}")
    t.add_argument("--layers", type=int, help=f"message-passing layers {_task_default('layers')}")
    t.add_argument("--dropout", type=float, help=f"dropout probability {_task_default('dropout')}")
    t.add_argument("--batch-size", type=int, help="graphs (graph), or positive edges (link) or seed nodes (node) "
                                                  f"of sampled sub-graphs per step (0 = full batch) "
                                                  f"{_task_default('batch_size')}")
    t.add_argument("--patience", type=int, help=f"stop after this many epochs without a better validation score "
                                                f"{_task_default('patience')}")
    own_clip = "".join(f", {d['clip']} for {t}" for t, d in TASK_DEFAULTS.items() if "clip" in d)
    t.add_argument("--clip", type=float, help=f"gradient-norm limit, 0 = off (default: {DEFAULT_CLIP}{own_clip})")
    t.add_argument("--seed", type=int, help=f"random seed {_field_default('seed')}")
    t.add_argument("--scheduler", choices=CHOICES["scheduler"],
                   help=f"cosine: to zero over --epochs; step: halve every quarter {_field_default('scheduler')}")
    t.add_argument("--device", help=f"auto (a GPU when torch sees one), cpu, cuda, cuda:N {_field_default('device')}")
    t.add_argument("--amp", choices=CHOICES["amp"],
                   help=f"bfloat16 autocast; auto: on a GPU only {_field_default('amp')}")
    t.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="bit-reproducible CPU runs on one thread (default: on)")
    t.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes on this machine (torch.distributed: gloo on CPU, NCCL on GPU)")
    t.add_argument("--remote-features", choices=CHOICES["remote_features"],
                   help="with --nproc and --batch-size: halo: each rank holds its part's and its halo's feature rows; "
                        f"fetch: its part's only, the others fetched per batch (one all-to-all) "
                        f"{_field_default('remote_features')}")
    t.add_argument("--feature-cache", type=int, metavar="ROWS",
                   help=f"with --remote-features fetch: hot remote rows cached per rank {_field_default('feature_cache')}")
    t.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="on: a live bar over the epochs; off: one line per epoch; auto: the bar on a terminal")
    e = sub.add_parser("evaluate", help="score a finished run's best model on every split",
                       formatter_class=_HelpFormatter)
    e.add_argument("--run", required=True, help="the run folder (holds config.json and best.pt)")
    e.add_argument("--device", default="cpu", help="where to evaluate: cpu, cuda, cuda:N")
    e.add_argument("--root", help="where OGB data sets live (default: the run's own setting)")
    d = sub.add_parser("datasets", help="list the data sets graphkit can load and which are on disk",
                       formatter_class=_HelpFormatter)
    d.add_argument("--root", help="where OGB data sets live (default: $GRAPHKIT_DATA or ~/.cache/graphkit/ogb)")
    sub.add_parser("info", help="versions, kernel backend and devices", formatter_class=_HelpFormatter)
    return p


_TRAIN_FLAGS = ("task", "dataset", "model", "epochs", "out", "root", "lr", "weight_decay", "optimizer", "hidden",
                "layers", "dropout", "seed", "batch_size", "patience", "clip", "scheduler", "device", "amp",
                "deterministic", "remote_features", "feature_cache")


def _train_config(args: argparse.Namespace) -> Any:
    """YAML, then flags, each value checked against its type (no torch import yet: mistakes fail fast)."""
    from graphkit.train.config import TrainConfig, check_device_name, load_yaml

    base = TrainConfig.from_dict(load_yaml(args.config), args.config) if args.config else TrainConfig()
    for name in ("epochs", "nproc"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise _UsageError(f"--{name} must be at least 1, got {value}")
    if args.feature_cache is not None and args.feature_cache < 0:
        raise _UsageError(f"--feature-cache must be at least 0, got {args.feature_cache}")
    cfg = base.merged({k: getattr(args, k) for k in _TRAIN_FLAGS})
    check_device_name(cfg.device)
    return cfg


def _train(args: argparse.Namespace) -> int:
    cfg = _train_config(args)  # before importing the training code (torch): a typo costs milliseconds
    from graphkit.train.run import run

    progress = {"auto": None, "on": True, "off": False}[args.progress]
    run(cfg, resume=args.resume, progress=progress)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from graphkit.train.run import evaluate_run
    from graphkit.train.summary import format_table

    scores, info = evaluate_run(args.run, device=args.device, root=args.root)
    metrics = list(dict.fromkeys(m for split in scores.values() for m in split))
    rows = [[split] + [f"{scores[split].get(m, float('nan')):.4f}" for m in metrics] for split in scores]
    print(f"{info['model']} on {info['dataset']} ({info['task']} prediction), best epoch {info['epoch']} "
          f"of run {args.run}")
    print(format_table(["split", *metrics], rows))
    return 0


def _datasets(root: Optional[str] = None) -> int:
    """The registry as a table that fits a terminal, with the task ``graphkit train`` trains each as."""
    from graphkit.datasets import registry
    from graphkit.datasets.ogb import default_root
    from graphkit.train.run import fixtures_dir, trainable_task
    from graphkit.train.summary import format_table

    bundled = fixtures_dir()  # registers the committed OGB-format fixtures
    rows = [[name, trainable_task(name, info["kind"]) or "-", "yes" if info["on_disk"] else "no",
             info["description"]] for name, info in registry.available(root).items()]
    print(format_table(["name", "train as", "on disk", "description"], rows))
    print("`graphkit train --dataset NAME` trains the sets with a task.")
    print(f"OGB sets live in {Path(root) if root else default_root()}/<name, _ for -> (--root or $GRAPHKIT_DATA)"
          + (f";\nthe bundled ones in {bundled}." if bundled else "."))
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


def _user_errors() -> Tuple[type, ...]:
    """Exception types that mean "the user's input or machine", not "a graphkit bug".

    graphkit's own error classes are looked up only if their module is loaded: an exception of a class whose
    module was never imported cannot have been raised, and importing them here would import torch.
    """
    types: List[type] = [ValueError, OSError, ImportError, FloatingPointError, MemoryError]
    for module, name in (("graphkit.train.checkpoint", "CheckpointError"),
                         ("graphkit.datasets.ogb", "OGBDownloadError"),
                         ("torch", "OutOfMemoryError")):
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type):
            types.append(cls)
    return tuple(types)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename and exc.filename not in text:
        text = f"{text}: {exc.filename}"
    return text


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``graphkit`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            if args.nproc != 1 and "LOCAL_RANK" not in os.environ:  # the launcher: check, start workers, wait
                from graphkit.train.distributed import launch
                from graphkit.train.run import prepare

                cfg, _ = prepare(_train_config(args), resume=args.resume)  # refuse here what workers would
                if cfg.task != "node":
                    raise _UsageError(f"--nproc supports node prediction; {cfg.dataset} is a {cfg.task} "
                                      "prediction data set")
                return launch(args.nproc, list(sys.argv[1:] if argv is None else argv))
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "datasets":
            return _datasets(args.root)
        if args.command == "info":
            return _info()
        build_parser().print_help()
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except _UsageError as exc:
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("graphkit: interrupted (graphkit train --resume --out RUN_FOLDER continues a run)", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            print(f"graphkit: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_FAILURE
        if isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc):  # torch's CPU allocator
            print("graphkit: error: out of memory; lower --hidden or --batch-size", file=sys.stderr)
            return EXIT_FAILURE
        raise


if __name__ == "__main__":
    raise SystemExit(main())
