"""What ``graphkit train`` shows while it trains: a live bar on a terminal, one line per epoch otherwise.

Logs, ``nohup``, CI and pipes get a line per epoch (flushed at once), in the form PyG's and DGL's examples print:

>>> report = EpochReport(epochs=200, metric="acc", live=False)
>>> report({"epoch": 3, "loss": 1.2712, "lr": 0.01, "train": {"acc": 0.48}, "valid": {"acc": 0.49},
...         "test": {"acc": 0.47}, "seconds": 0.051})
epoch   3/200  loss 1.2712  train acc 0.4800  valid acc 0.4900  test acc 0.4700  0.05 s

On a terminal a tqdm bar over the epochs shows the same numbers, the best validation score so far and an ETA.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Callable, Dict, Optional

__all__ = ["EpochReport", "format_epoch"]

_SPLITS = ("train", "valid", "test")


def _loss(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) and abs(value) < 1e4 else f"{value:.3g}"


def format_epoch(row: Dict[str, Any], epochs: int, metric: str) -> str:
    """One epoch of ``metrics.jsonl`` as one line: epoch, loss, ``metric`` on every split, seconds."""
    width = len(str(epochs))
    parts = [f"epoch {row['epoch']:>{width}}/{epochs}", f"loss {_loss(row['loss'])}"]
    parts += [f"{s} {metric} {row[s][metric]:.4f}" for s in _SPLITS if metric in row.get(s, {})]
    parts.append(f"{row.get('seconds', 0.0):.2f} s")
    return "  ".join(parts)


class EpochReport:
    """A callable for the Trainer's end-of-epoch hook (``row`` as written to ``metrics.jsonl``).

    Args:
        epochs: the run's epoch budget (the bar's total, the lines' denominator).
        metric: the main metric (the one that selects the best epoch).
        mode: ``"max"`` or ``"min"``, the direction in which ``metric`` improves.
        live: a tqdm bar (True) or one printed line per epoch (False); ``None``: a bar when stdout is a terminal.
        first_epoch: epochs already done (a resumed run's bar starts there).
        echo: where the lines go (``print`` by default).
    """

    def __init__(self, epochs: int, metric: str, mode: str = "max", live: Optional[bool] = None,
                 first_epoch: int = 0, echo: Callable[[str], Any] = print):
        self.epochs, self.metric, self.mode, self.echo = epochs, metric, mode, echo
        self.live = sys.stdout.isatty() if live is None else live
        self.best: Optional[float] = None
        self.bar: Any = None
        if self.live:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, initial=first_epoch, unit="epoch", desc="train",
                            file=sys.stdout)

    def __call__(self, row: Dict[str, Any]) -> None:
        if self.bar is None:
            self.echo(format_epoch(row, self.epochs, self.metric))
            sys.stdout.flush()
            return
        valid = row.get("valid", {}).get(self.metric, math.nan)
        if math.isfinite(valid) and (self.best is None or (valid > self.best if self.mode == "max"
                                                           else valid < self.best)):
            self.best = valid
        post = {"loss": _loss(row["loss"]), f"valid {self.metric}": f"{valid:.4f}"}
        if self.best is not None:
            post["best"] = f"{self.best:.4f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
