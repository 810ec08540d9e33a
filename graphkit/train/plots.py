"""``curves.png``: training loss and every split's main metric per epoch (matplotlib's Agg canvas).

The loss is drawn on a log axis when it spans more than a factor of ten (a diverging run's 1e13 would flatten
everything else on a linear one), epochs are whole numbers on the axis even for a 3-epoch run, a dashed line
marks the best validation epoch (the model ``best.pt`` holds) and the title names the model and the data set.
matplotlib is imported here only, when a run ends, and without ``pyplot``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

__all__ = ["plot_curves", "curves_figure", "best_epoch"]


def best_epoch(history: List[Dict[str, Any]], metric: str, mode: str = "max") -> Optional[int]:
    """The epoch with the best finite validation ``metric`` (``mode`` "max" or "min"; first one on ties), or None.

    >>> best_epoch([{"epoch": 1, "valid": {"rmse": 2.0}}, {"epoch": 2, "valid": {"rmse": 1.5}}], "rmse", "min")
    2
    """
    sign = 1.0 if mode == "max" else -1.0
    scored = [(sign * h["valid"][metric], -h["epoch"]) for h in history
              if math.isfinite(h.get("valid", {}).get(metric, math.nan))]
    return -max(scored)[1] if scored else None


def plot_curves(history: List[Dict[str, Any]], metric: str, path: Union[str, Path], title: str = "",
                best: Optional[int] = None) -> Path:
    """Draw loss (left) and ``metric`` on train/valid/test (right) against the epoch; returns the file path.

    ``title`` heads the figure (``"gcn on ogbn-drosophila"``); ``best`` is the epoch to mark (default: the
    epoch of ``history`` with the highest validation ``metric``).
    """
    path = Path(path)
    curves_figure(history, metric, title, best).savefig(path, dpi=100)
    return path


def curves_figure(history: List[Dict[str, Any]], metric: str, title: str = "", best: Optional[int] = None) -> Any:
    """The ``matplotlib.figure.Figure`` that :func:`plot_curves` saves (axes: loss, then ``metric``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    best = best_epoch(history, metric) if best is None else best
    epochs = [h["epoch"] for h in history]
    losses = [h["loss"] for h in history]
    fig = Figure(figsize=(9, 3.8))
    FigureCanvasAgg(fig)
    ax_loss, ax_metric = fig.subplots(1, 2)
    ax_loss.plot(epochs, losses, color="k", marker="." if len(epochs) < 30 else None)
    if all(math.isfinite(v) and v > 0 for v in losses) and max(losses) > 10 * min(losses):
        ax_loss.set_yscale("log")  # a loss over decades (a diverging run's 1e13) flattens the rest on a linear axis
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    for split in ("train", "valid", "test"):
        values = [h.get(split, {}).get(metric, float("nan")) for h in history]
        ax_metric.plot(epochs, values, label=split, marker="." if len(epochs) < 30 else None)
    ax_metric.set(xlabel="epoch", ylabel=metric, title=metric)
    if best is not None:
        for ax in (ax_loss, ax_metric):
            ax.axvline(best, color="tab:red", linestyle="--", linewidth=1)
        ax_metric.plot([], [], color="tab:red", linestyle="--", label=f"best epoch {best}")
    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_metric.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
