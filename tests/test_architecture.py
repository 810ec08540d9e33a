"""The layering rules of docs/architecture.md, checked on the source with ``ast`` (imports inside functions and
under ``TYPE_CHECKING`` count too): no upward import, and nobody outside graph.py/batch.py touches the private
state of ``Graph``/``Batch``."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "graphkit"

#: (importing package, imported package): an import that goes up the layers.
FORBIDDEN = [
    ("graphkit.ops", "graphkit.graph"),
    ("graphkit.ops", "graphkit.batch"),
    ("graphkit.ops", "graphkit.nn"),
    ("graphkit.ops", "graphkit.loader"),
    ("graphkit.ops", "graphkit.train"),
    ("graphkit.ops", "graphkit.data"),
    ("graphkit.graph", "graphkit.nn"),
    ("graphkit.graph", "graphkit.loader"),
    ("graphkit.graph", "graphkit.train"),
    ("graphkit.batch", "graphkit.nn"),
    ("graphkit.batch", "graphkit.loader"),
    ("graphkit.batch", "graphkit.train"),
    ("graphkit.nn", "graphkit.train"),
    ("graphkit.nn", "graphkit.cli"),
    ("graphkit.loader", "graphkit.nn"),
    ("graphkit.loader", "graphkit.train"),
    ("graphkit", "graphkit.cli"),  # nothing imports the command line (graphkit/__main__.py is its entry point)
    ("graphkit", "graphkit.testing"),  # runtime code never imports the test helpers
]
#: Modules exempt from a rule whose importer is the whole package.
EXEMPT = {"graphkit.cli", "graphkit.__main__"}

#: Private attributes of Graph/Batch; only graphkit/graph.py and graphkit/batch.py may use them.
PRIVATE = {"_store", "_kinds", "_adj", "_set_edge_index", "_edge_index_reset", "_edges_or_empty", "_edge_index",
           "_edge_max", "_edge_key", "_slices", "_stacked", "_has_edges", "_map_tensors", "_map_extra",
           "_known_num_nodes", "_infer_kind", "_check_rows", "_sync"}
PRIVATE_PREFIXES = ("_csr", "_meta_")
OWNERS = {PACKAGE / "graph.py", PACKAGE / "batch.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from graphkit import cli`` imports graphkit.cli
                yield node.lineno, f"{target}.{alias.name}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _sources() -> List[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_upward_imports() -> None:
    bad = []
    for path in _sources():
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        for line, target in _imports(tree, module, path.name == "__init__.py"):
            for importer, imported in FORBIDDEN:
                if not _within(module, importer) or _within(module, imported) or module in EXEMPT:
                    continue
                if _within(target, imported):
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {target}")
    assert not bad, "upward imports:\n" + "\n".join(sorted(set(bad)))


def test_no_private_graph_state_outside_its_modules() -> None:
    bad = []
    for path in _sources():
        if path in OWNERS:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value  # object.__setattr__(g, "_meta_ptr", ...) and getattr(g, "_store")
            else:
                continue
            if name in PRIVATE or name.startswith(PRIVATE_PREFIXES):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {name}")
    assert not bad, "private Graph/Batch state used outside graph.py/batch.py:\n" + "\n".join(bad)


@pytest.mark.parametrize("source,expected", [
    ("from graphkit.graph import Graph", True),
    ("from .. import graph", True),
    ("import graphkit.nn.conv", True),
    ("from graphkit.ops import spmm", False),
])
def test_the_checker_sees_upward_imports(source: str, expected: bool) -> None:
    targets = [t for _, t in _imports(ast.parse(source), "graphkit.ops.spmm", False)]
    found = any(_within(t, "graphkit.graph") or _within(t, "graphkit.nn") for t in targets)
    assert found is expected, targets
