"""Run-folder helpers for the training tests (the OGB fixtures come from tests/conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

_HOLD = ("import sys, time\nfrom graphkit.train.rundir import RunLock\nRunLock(sys.argv[1]).acquire()\n"
         "print('locked', flush=True)\ntime.sleep(600)\n")


@pytest.fixture
def lock_holder():
    """``hold(folder)`` starts a process that holds ``folder``'s run lock until the test ends (SIGKILL)."""
    procs = []

    def hold(folder):
        proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()
