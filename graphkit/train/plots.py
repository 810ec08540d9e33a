"""``curves.png``: training loss and every split's main metric per epoch (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Union

__all__ = ["plot_curves"]


def plot_curves(history: List[Dict[str, Any]], metric: str, path: Union[str, Path]) -> Path:
    """Draw loss (left) and ``metric`` on train/valid/test (right) against the epoch; returns the file path."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI; must precede pyplot's import
    import matplotlib.pyplot as plt

    path = Path(path)
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["loss"] for h in history], color="k")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    for split in ("train", "valid", "test"):
        values = [h.get(split, {}).get(metric, float("nan")) for h in history]
        ax_metric.plot(epochs, values, label=split)
    ax_metric.set(xlabel="epoch", ylabel=metric, title=metric)
    ax_metric.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
