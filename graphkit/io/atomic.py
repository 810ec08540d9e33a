"""One atomic write for every file graphkit must never leave half-written (caches, checkpoints, run records).

``atomic_write(path, write)`` calls ``write(fh)`` on a temporary file in the target's folder, flushes and fsyncs
it, ``os.replace``-s it over ``path`` and fsyncs the folder, so a crash at any moment leaves either the old file
or the new one. A temporary file is named ``.<name>.tmp<random>``; an exception removes it, a SIGKILL cannot, so
:func:`remove_stale_temps` deletes the ones a killed writer left behind (call it only where no other process is
writing the same file, e.g. under a run folder's lock).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write_text(p, "hello")
>>> p.read_text(), sorted(q.name for q in p.parent.iterdir())
('hello', ['a.txt'])
"""
from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, List, Union

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_bytes", "remove_stale_temps", "fsync_dir"]

PathLike = Union[str, "os.PathLike[str]"]


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.tmp"


def fsync_dir(folder: PathLike) -> None:
    """Make a rename inside ``folder`` durable; a no-op where the file system cannot open folders."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[IO[Any]], Any], mode: str = "wb") -> None:
    """Write ``path`` through ``write(fh)`` so that readers only ever see the old or the complete new file."""
    path = Path(path)
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path))
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text), mode="w")


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def remove_stale_temps(path: PathLike) -> List[Path]:
    """Delete the temporary files that killed :func:`atomic_write` calls for ``path`` left; returns them."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = [p for p in path.parent.glob(glob.escape(_tmp_prefix(path)) + "*") if p.is_file() and not p.is_symlink()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
