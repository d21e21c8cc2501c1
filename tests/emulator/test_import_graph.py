"""No import circle inside the emulator, lazy (function-level) imports included: its modules stack in layers
(records, dtypes -> tensor, memory -> ... -> executed -> ops -> api)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tt_model" / "emulator"
PREFIX = "tt_model.emulator"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((PREFIX, *parts))


def _imports(path: Path, name: str) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith(PREFIX):
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from . import clock` names a module
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PREFIX))
    return found


def graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        edges[name] = {m for m in _imports(path, name) if m in modules and m != name}
    # a package's __init__ runs on import of any of its modules: importing it is not a circle of its own
    return {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_emulator_has_no_import_circle():
    edges = graph()
    assert len(edges) > 20 and f"{PREFIX}.executed" in edges[f"{PREFIX}.ops_common"]
    assert not cycles(edges), f"import circles: {cycles(edges)}"


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
