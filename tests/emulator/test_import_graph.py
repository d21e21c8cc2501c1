"""No import circle inside the emulator, lazy (function-level) imports included: its modules stack in layers
(records, dtypes -> tensor, memory -> ... -> executed -> ops -> api).

Every module under ``tt_model/emulator`` is parsed (not imported) and every ``import`` statement in it counts,
wherever it stands: module level, inside a function, under ``if TYPE_CHECKING``. The circles found must be exactly
``KNOWN``: a new circle fails, and so does a known one that was broken until it is taken out of ``KNOWN``.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tt_model" / "emulator"
PREFIX = "tt_model.emulator"

# Circles that exist today, each as a tuple of module names (without the "tt_model.emulator." prefix) starting at
# its alphabetically first module: ("a", "b") is a -> b -> a. Empty: the emulator has none.
KNOWN: set[tuple[str, ...]] = set()


def _module(path: Path, root: Path = PACKAGE, prefix: str = PREFIX) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((prefix, *parts))


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imports(source: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules among ``modules`` that module ``name`` (source text ``source``) imports anywhere in its body.

    ``import a.b.c`` runs a, a.b and a.b.c. ``from P import n`` runs P (and the packages above it) and P.n when that
    is a module; a name that is not a module is read off P. A package above ``name`` is already being imported when
    ``name`` runs, so running it again is not an edge; reading a name off it (``from . import OPS``) is."""
    package = name if is_package else name.rpartition(".")[0]
    above = set(_prefixes(name)[:-1])
    ran, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                ran.update(_prefixes(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            ran.update(_prefixes(base))
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    ran.add(f"{base}.{alias.name}")
                else:
                    read.add(base)
    return ((ran - above) | read) & (modules - {name})


def graph(root: Path = PACKAGE, prefix: str = PREFIX) -> dict[str, set[str]]:
    paths = {_module(p, root, prefix): p for p in sorted(root.rglob("*.py"))}
    return {name: imports(path.read_text(), name, path.name == "__init__.py", set(paths))
            for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every elementary circle of the graph, each once, as the tuple of its nodes starting at the least one."""
    found = set()
    for start in sorted(edges):
        # circles whose least node is ``start``: walk only through nodes after it
        stack = [(start, iter(sorted(edges.get(start, ()))))]
        path, on_path = [start], {start}
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                stack.pop()
                on_path.discard(path.pop())
            elif nxt == start:
                found.add(tuple(path))
            elif nxt > start and nxt not in on_path:
                path.append(nxt)
                on_path.add(nxt)
                stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
    return found


def _short(cycle: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(m[len(PREFIX) + 1:] if m.startswith(PREFIX + ".") else m for m in cycle)


def _spell(cycle: tuple[str, ...]) -> str:
    return " -> ".join(cycle + cycle[:1])


def test_the_emulator_import_circles_are_exactly_the_known_ones():
    edges = graph()
    assert len(edges) > 20
    assert f"{PREFIX}.executed" in edges[f"{PREFIX}.ops_common"]        # module level
    assert f"{PREFIX}.api" in edges[f"{PREFIX}.make_dtype_table"]       # lazy, inside generate()
    assert f"{PREFIX}.checks" in edges[f"{PREFIX}.checks.compute"]      # `from . import OPS` reads the package
    found = {_short(c) for c in cycles(edges)}
    new, gone = sorted(found - KNOWN), sorted(KNOWN - found)
    assert not new and not gone, (
        "emulator import circles changed (lazy imports count too).\n"
        + "".join(f"  new circle:    {_spell(c)}\n" for c in new)
        + "".join(f"  no longer a circle (take it out of KNOWN): {_spell(c)}\n" for c in gone))


def test_the_cycle_finder_finds_every_circle_once():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == {("a", "b", "c")}
    assert cycles({"a": {"b"}, "b": {"a", "c"}, "c": {"a", "b"}}) == {("a", "b"), ("a", "b", "c"), ("b", "c")}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()


def test_lazy_relative_and_absolute_imports_are_edges(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import f\n",
        "a.py": "def f():\n    from . import b\n    return b\n",                 # lazy: a -> b
        "b.py": "import tt_model.emulator.sub.c\n",                            # absolute: b -> sub, sub.c
        "sub/__init__.py": "",
        "sub/c.py": "from .. import a as _a\nfrom . import NAME\n",           # c -> a; reads NAME off sub
        "d.py": "from tt_model import emulator\nfrom tt_model.emulator import f\n",  # d reads f off the package
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    edges = graph(pkg, PREFIX)
    p = PREFIX + "."
    assert edges == {PREFIX: {p + "a"}, p + "a": {p + "b"}, p + "b": {p + "sub", p + "sub.c"}, p + "sub": set(),
                     p + "sub.c": {p + "a", p + "sub"}, p + "d": {PREFIX}}
    assert {_short(c) for c in cycles(edges)} == {("a", "b", "sub.c")}
