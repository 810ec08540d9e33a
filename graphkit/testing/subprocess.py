"""Run a bad-input snippet in a fresh interpreter, so that a segfault fails the test instead of killing the run."""
from __future__ import annotations

import subprocess
import sys
import textwrap

__all__ = ["run_snippet", "assert_raises_in_subprocess"]


def run_snippet(code: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout
    )


def assert_raises_in_subprocess(code: str, exc_type: str, match: str = "", timeout: float = 120.0) -> str:
    """Assert that ``code`` raises ``exc_type`` (by name) whose message contains ``match``.

    The snippet's exception is caught inside the child and reported on stdout; a crash (negative return code,
    e.g. SIGSEGV) or any other outcome fails the assertion with the child's output. Returns the message.
    """
    wrapped = (
        "import sys\n"
        "try:\n" + textwrap.indent(textwrap.dedent(code), "    ") + "\n"
        "except BaseException as _e:\n"
        "    print('GRAPHKIT-EXC', type(_e).__name__, '::', str(_e).replace(chr(10), ' '))\n"
        "    sys.exit(0)\n"
        "print('GRAPHKIT-NO-EXC')\n"
    )
    proc = run_snippet(wrapped, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"child crashed (return code {proc.returncode}):\n{out}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("GRAPHKIT-")]
    assert lines and lines[-1] != "GRAPHKIT-NO-EXC", f"no exception was raised:\n{out}"
    _, name, _, message = lines[-1].split(" ", 3)
    assert name == exc_type, f"expected {exc_type}, got {name}: {message}"
    assert match in message, f"message {message!r} does not contain {match!r}"
    return message
