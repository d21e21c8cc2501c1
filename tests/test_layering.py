"""Arrows point down: the import graph, read from the source (ast, nothing executed), never runs back up.

Floors, top to bottom: the CLI and its commands; bench (runners, compare, gating, results);
tt_model and reference side by side (neither imports the other); the ground floor. reports
render stored results and may read bench's result schema, never the model code.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ground", "reference", "tt_model", "bench", "reports", "suites")
TOP = ("bench.cli", "bench.commands")  # the CLI floor


def _floor(module: str) -> str:
    if module.startswith(TOP):
        return "cli"
    return module.split(".")[0]


# floor -> floors it may import from
ALLOWED = {
    "ground": {"ground"},
    "reference": {"ground", "reference"},
    "tt_model": {"ground", "tt_model"},
    "bench": {"ground", "reference", "tt_model", "bench"},
    "reports": {"ground", "bench", "reports"},
    "suites": {"ground", "suites"},
    "cli": {"ground", "reference", "tt_model", "bench", "reports", "suites", "cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """Every module a file imports, at any depth (function-level imports included)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                yield node.lineno, ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.lineno, node.module


def _edges():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = _module_name(path)
            for line, target in _imports(path):
                if target.split(".")[0] in PACKAGES:
                    yield path, line, source, target


def test_every_package_is_walked():
    edges = list(_edges())
    assert len(edges) > 100 and {_floor(s) for _, _, s, _ in edges} >= {"ground", "reference", "tt_model", "bench",
                                                                        "cli"}


def test_no_import_runs_back_up():
    bad = [f"{path.relative_to(ROOT)}:{line}: {source} ({_floor(source)}) imports {target} ({_floor(target)})"
           for path, line, source, target in _edges() if _floor(target) not in ALLOWED[_floor(source)]]
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, target, allowed", [
    ("tt_model.model", "bench.errors", False), ("reference.runner", "tt_model.mesh", False),
    ("bench.accuracy", "bench.commands.accuracy", False), ("ground.checkpoint", "reference.loader", False),
    ("reports.html", "tt_model", False), ("bench.commands.accuracy", "tt_model.mesh", True),
])
def test_the_rule_itself(source, target, allowed):
    assert (_floor(target) in ALLOWED[_floor(source)]) is allowed
