"""Run folders you can trust: one process at a time, one row per epoch, and resume in the folder you name.

* :class:`RunLock` is an exclusive ``fcntl.flock`` on ``<run>/.lock``. A second process on the same folder gets
  one :class:`RunError` line naming the holder's pid. The kernel drops the lock when its holder dies, so a lock
  left by a killed run is simply taken over; taking it also deletes the temporary files killed writers left.
* :class:`MetricsLog` is ``metrics.jsonl``: rewritten atomically when a run starts (empty for a fresh run, cut
  back to the checkpoint's epoch on resume) and appended to, one fsync-ed line per epoch, afterwards.
* :func:`resume_config` rebuilds a run's settings from ``<run>/config.json`` for ``--resume``: the folder given
  is the folder used (a copied or moved folder resumes in place), the settings that can change safely
  (``RESUME_APPLIED``) are applied, and any other setting given with a different value is refused in one line.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> with RunLock(folder):
...     log = MetricsLog(folder)
...     log.rewrite([{"epoch": 1}]); log.append({"epoch": 2})
>>> [row["epoch"] for row in log.read()]
[1, 2]
"""
from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from graphkit.io.atomic import atomic_write_text
from graphkit.train.config import TrainConfig

__all__ = ["RunError", "RunLock", "MetricsLog", "read_config", "resume_config", "RESUME_APPLIED"]

# Settings a resumed run may change: they alter neither the model nor what the optimiser has done so far.
# ``epochs`` also re-times the LR schedule (the Trainer's schedules are closed-form in the epoch count).
RESUME_APPLIED = ("epochs", "patience", "device", "root", "deterministic", "amp")


class RunError(ValueError):
    """A run cannot start (bad folder state, task/data mismatch, folder in use); the message says what to do."""


class RunLock:
    """An exclusive lock on a run folder, held by this process until :meth:`release` (re-entrant in-process).

    The lock file holds the owner's pid, so that a second process can say who has the folder. When the owner
    releases it, the file is deleted while still locked; a process that opened the old file just before checks
    after locking that the file it locked is still the one on disk, and retries otherwise.
    """

    _held: Dict[str, List[int]] = {}  # resolved folder -> [fd, depth]

    def __init__(self, folder: Union[str, Path]):
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self._key = ""

    def acquire(self) -> "RunLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = str(self.folder.resolve())
        if self._key in RunLock._held:
            RunLock._held[self._key][1] += 1
            return self
        try:
            import fcntl
        except ImportError:  # no flock on this platform: run unlocked rather than not at all
            RunLock._held[self._key] = [-1, 1]
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise RunError(f"run folder {self.folder} is in use by another process (pid {holder}); wait "
                               "for it to finish or pass another --out") from None
            try:
                current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)  # we locked a file its previous owner had just deleted: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        RunLock._held[self._key] = [fd, 1]
        for tmp in self.folder.glob(".*.tmp*"):  # nobody else writes here now: each is a killed atomic write's
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
        return self

    def release(self) -> None:
        entry = RunLock._held.get(self._key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del RunLock._held[self._key]
        if entry[0] >= 0:
            self.path.unlink(missing_ok=True)  # still locked: nobody can lock this inode and believe it current
            os.close(entry[0])

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class MetricsLog:
    """``<run>/metrics.jsonl``: one JSON object per finished epoch, in order, each epoch once."""

    def __init__(self, folder: Union[str, Path]):
        self.path = Path(folder) / "metrics.jsonl"

    def read(self, up_to: Optional[int] = None) -> List[Dict[str, Any]]:
        """The rows (those with ``epoch <= up_to``); a line cut off by a crash ends the log."""
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if not isinstance(row, dict) or (up_to is not None and row.get("epoch", 0) > up_to):
                break
            rows.append(row)
        return rows

    def rewrite(self, rows: List[Dict[str, Any]]) -> None:
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))

    def append(self, row: Dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_config(folder: Union[str, Path]) -> TrainConfig:
    """The settings saved in ``<folder>/config.json`` (a :class:`RunError` line when missing or damaged)."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise RunError(f"nothing to resume in {folder} (no config.json)")
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(saved, dict):
        raise RunError(f"{path} must hold a mapping of settings, got {type(saved).__name__}")
    return TrainConfig.from_dict(saved, str(path))


def _given(asked: TrainConfig) -> Dict[str, Any]:
    """The settings ``asked`` sets: not ``None`` and not the dataclass default (``out`` is the folder itself)."""
    given = {}
    for f in fields(TrainConfig):
        value = getattr(asked, f.name)
        if f.name != "out" and value is not None and value != f.default:
            given[f.name] = value
    return given


def resume_config(folder: Union[str, Path], asked: TrainConfig) -> TrainConfig:
    """The saved settings of the run in ``folder``, with ``out = folder`` and the safe changes of ``asked``.

    A setting of ``asked`` outside :data:`RESUME_APPLIED` that differs from the saved one raises one
    :class:`RunError` line listing each such setting (a resumed run cannot honestly change its model or its
    optimisation half-way). Settings left at their defaults count as not given.
    """
    saved = read_config(folder)
    given = _given(asked)
    changed: List[Tuple[str, Any, Any]] = [(k, getattr(saved, k), v) for k, v in given.items()
                                           if k not in RESUME_APPLIED and v != getattr(saved, k)]
    if changed:
        what = ", ".join(f"{k} {old!r} -> {new!r}" for k, old, new in changed)
        raise RunError(f"--resume continues {folder} with its saved settings; cannot change {what} (resume "
                       f"without them, or start a new run with another --out); only "
                       f"{', '.join(RESUME_APPLIED)} may change")
    return saved.merged({**{k: v for k, v in given.items() if k in RESUME_APPLIED}, "out": str(folder)})
