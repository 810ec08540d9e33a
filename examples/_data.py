"""What every example does when the data it reads is not installed: one line that says what to install.

The examples read real data that packages ship (never copied into this repository). ``make examples`` installs
all of it (``pip install --no-deps`` of the data packages, the RDKit extra, and the Debian data sets when apt is
available) and then runs every example briefly. Without it, an example prints, for instance,

    movielens_lightgcn.py: package 'recbole' is not installed; its data needs: pip install --no-deps recbole==1.2.1
    (`make examples` installs the data of every example)

and exits with status 1 instead of a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

INSTALL_ALL = "`make examples` installs the data of every example"


def missing_data_line(exc: BaseException) -> str:
    """The one line printed for a data set or package that is not installed."""
    return f"{Path(sys.argv[0]).name}: {' '.join(str(exc).split())} ({INSTALL_ALL})"


def run_example(main: Callable[[], None]) -> None:
    """``main()``, turning "data not installed" (DataNotFoundError, ImportError) into one line and exit 1."""
    from graphkit.datasets import DataNotFoundError

    try:
        main()
    except (DataNotFoundError, ImportError) as exc:
        print(missing_data_line(exc), file=sys.stderr)
        raise SystemExit(1) from None
