"""README's table of ops names every ttnn op tt_model calls and every file the emulator's checks cite."""
import re
from pathlib import Path

from tests.emulator.test_api_conformance import API, _tt_model_calls

from tt_model.emulator.checks import SOURCES, attention, compute, data_movement, memory, selection  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
OPS_PREFIX = "ttnn/cpp/ttnn/operations/"


def _table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The emulator as gatekeeper"):text.index("## Models")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            for op in re.findall(r"`([\w.]+)`", cells[0]):
                rows[op] = cells[1]
    return rows


def _tt_model_ops() -> set[str]:
    """The ttnn functions tt_model names (constructors and constants left out)."""
    ops = set()
    for _, _, chain in _tt_model_calls():
        module = "ttnn." + ".".join(chain[:-1]) if len(chain) > 1 else "ttnn"
        entry = API.get(module, {}).get(chain[-1])
        if entry is not None and entry["kind"] == "callable" and not chain[0][0].isupper():
            ops.add(".".join(chain))
    return ops


def test_every_op_tt_model_calls_has_a_row():
    rows = _table()
    missing = sorted(op for op in _tt_model_ops() if op not in rows)
    assert not missing, f"ops tt_model calls without a row in README's table: {missing}"


def test_each_checked_op_row_cites_the_files_its_checks_cite():
    rows = _table()
    wrong = []
    for op, files in SOURCES.items():
        if op not in rows:
            continue
        for f in files:
            short = f[len(OPS_PREFIX):] if f.startswith(OPS_PREFIX) else f
            if short not in rows[op]:
                wrong.append(f"{op}: {short}")
    assert not wrong, f"README rows missing cited sources: {wrong}"
    assert {"matmul", "scatter", "topk", "fill_cache", "experimental.paged_update_cache"} <= set(rows)
