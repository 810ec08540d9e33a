"""The table printed at the end of a run (and stored as ``summary.json``).

>>> print(format_table(["split", "acc"], [["valid", "0.8000"], ["test", "0.7500"]]))
split  acc
-----  ------
valid  0.8000
test   0.7500
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

__all__ = ["format_table", "format_summary", "stop_note"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    widths[-1] = max(widths[-1], 6)
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def stop_note(summary: Dict[str, Any]) -> str:
    """Why training ended before its epoch budget, or ``""``.

    >>> stop_note({"epochs_run": 121, "epochs": 200, "patience": 50, "best_epoch": 71, "metric": "acc"})
    'stopped early: valid acc did not improve for 50 epochs'
    """
    if "stopped" in summary:  # a Trainer that reports early stopping itself (its echo), before the summary
        return ""
    planned, run = summary.get("epochs"), summary.get("epochs_run")
    if planned is None or run is None or run >= planned:
        return ""
    return (f"stopped early: valid {summary.get('metric', 'metric')} did not improve for "
            f"{summary.get('patience', run - summary.get('best_epoch', 0))} epochs")


def format_summary(summary: Dict[str, Any]) -> str:
    """Metrics of the selected (best-validation) model per split, then the run's facts."""
    final: Dict[str, Dict[str, float]] = summary["final"]
    metrics: List[str] = list(dict.fromkeys(m for split in final.values() for m in split))
    rows = [[split] + [f"{final[split].get(m, float('nan')):.4f}" for m in metrics] for split in final]
    by = f" by valid {summary['metric']}" if summary.get("metric") else ""
    facts = (f"{summary['dataset']} | task {summary['task']} | model {summary['model']} "
             f"({summary['parameters']:,} parameters) | best epoch {summary['best_epoch']} of "
             f"{summary['epochs_run']}{by} | {summary['seconds']:.1f} s on {summary['device']}")
    note = stop_note(summary)
    return "\n".join([facts, *([note] if note else []), format_table(["split", *metrics], rows),
                      f"run folder: {summary['run_dir']}"])
