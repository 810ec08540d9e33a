"""OGB downloads: ogb's URL and zip layout, a hand-unzipped folder adopted, and an error that says what to fetch."""
from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Dict

from graphkit.datasets.ogb_meta import plain_name

__all__ = ["OGBDownloadError", "fetch", "download_hint", "download_dir", "adopt_unzipped", "has_raw"]


class OGBDownloadError(RuntimeError):
    """The raw files are missing and could not be downloaded; the message says what to fetch and where."""


def fetch(name: str, meta: Dict[str, str], root: Path, target: Path) -> None:
    from ogb.utils.url import download_url, extract_zip

    url = meta["url"]
    zip_path = root / plain_name(url.rpartition("/")[2], "url file name", name)
    hint = download_hint(meta, root)
    if not zip_path.is_file():
        print(f"graphkit: downloading {url} into {root}", file=sys.stderr)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                download_url(url, str(root), log=False)
        except Exception as exc:  # URLError, HTTPError, socket errors, ValueError for a bad URL
            if zip_path.exists():
                zip_path.unlink()
            reason = getattr(exc, "reason", exc)
            raise OGBDownloadError(f"cannot download {name} ({reason}); {hint}") from None
    try:
        extract_zip(str(zip_path), str(root), log=False)
    except Exception as exc:
        raise OGBDownloadError(f"cannot unzip {zip_path} ({exc}); {hint}") from None
    extracted = download_dir(meta, root)
    if not extracted.is_dir():
        raise OGBDownloadError(f"{zip_path} did not contain the folder {meta['download_name']}/; {hint}")
    if extracted.resolve() != target.resolve():
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(extracted), str(target))
    zip_path.unlink()


def download_hint(meta: Dict[str, str], root: Path) -> str:
    url = meta.get("url", "")
    return (f"download {url} yourself and unzip it into {root}/ (giving {root / meta['download_name']}/raw/), "
            f"or put the zip file at {root / url.rpartition('/')[2]}")


def download_dir(meta: Dict[str, str], root: Path) -> Path:
    """``root/<download_name>``, the folder ogb's zip unpacks to; refused unless it is a plain folder in ``root``."""
    return root / plain_name(meta.get("download_name"), "download_name", f"the meta of {meta.get('name', 'a data set')}")


def adopt_unzipped(meta: Dict[str, str], root: Path, folder: Path) -> None:
    """A zip the user unzipped by hand gives ``root/<download_name>/``; move it where ogb would (``root/ogbn_x``)."""
    if not meta.get("download_name"):
        return
    extracted = download_dir(meta, root)
    if extracted != folder and not has_raw(folder, meta) and has_raw(extracted, meta):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(str(extracted), str(folder))


def has_raw(folder: Path, meta: Dict[str, str]) -> bool:
    raw = folder / "raw"
    hetero, binary = meta.get("is hetero") == "True", meta.get("binary") == "True"
    if hetero:
        return (raw / ("edge_index_dict.npz" if binary else "triplet-type-list.csv.gz")).is_file()
    return (raw / ("data.npz" if binary else "edge.csv.gz")).is_file()
