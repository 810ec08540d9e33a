"""Downloads for the standard data sets: one file at a time, written atomically, one clear line when offline.

``fetch(url, path, dataset)`` downloads ``url`` to ``path`` through :func:`graphkit.io.atomic_write` (a broken
transfer never leaves a half file that looks complete). Without network, or with ``download=False`` in the data set,
it raises :class:`~graphkit.datasets.base.DataNotFoundError` with the URL and the path to put the file at, so a user
behind a firewall can fetch it by hand; the data set then reads it through the same parsing path.
"""
from __future__ import annotations

import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Union

from graphkit.datasets.base import DataNotFoundError
from graphkit.io.atomic import atomic_write

__all__ = ["fetch", "missing_hint", "extract_zip"]


def missing_hint(dataset: str, url: str, path: Union[str, Path]) -> str:
    return f"{dataset}: {path} is missing; download {url} and save it as {path}"


def fetch(url: str, path: Union[str, Path], dataset: str, download: bool = True, timeout: float = 60.0,
          note: str = "") -> Path:
    """``path`` if it exists, else download ``url`` there; :class:`DataNotFoundError` (one line) when that fails.

    ``note`` is appended to the error (e.g. the other files the data set needs from the same place).
    """
    path = Path(path)
    if path.is_file():
        return path
    if not download:
        raise DataNotFoundError(missing_hint(dataset, url, path) + note + " (download=False)")
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"graphkit: downloading {url}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            atomic_write(path, lambda fh: shutil.copyfileobj(response, fh, 1 << 20))
    except Exception as exc:  # URLError, HTTPError, timeouts, DNS failures
        reason = getattr(exc, "reason", None) or exc
        raise DataNotFoundError(f"cannot download {url} ({reason}); {missing_hint(dataset, url, path)}{note}") from None
    return path


def extract_zip(archive: Path, folder: Path, dataset: str) -> None:
    """Unzip ``archive`` into ``folder``, refusing members that would land outside it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            root = folder.resolve()
            for member in zf.namelist():
                if not (folder / member).resolve().is_relative_to(root):
                    raise DataNotFoundError(f"{dataset}: {archive} has a member {member!r} outside the folder")
            zf.extractall(folder)
    except zipfile.BadZipFile as exc:
        archive.unlink(missing_ok=True)
        raise DataNotFoundError(f"{dataset}: {archive} is not a valid zip ({exc}); it was removed, "
                                f"download it again") from None
