"""Regenerates ``dtype_support_0.81.1.json`` (read at run time by ``dtype_table``) from the ttnn API dump: the
"Supported dtypes and layouts" tables of the 0.81.1 docstrings, for every op the emulator exports.

    python -m tt_model.emulator.make_dtype_table tests/data/ttnn_api_0.81.1.json
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tt_model.emulator.dtype_table import ANY, TABLE_FILE

DOC_LIMIT = 4000  # the dump keeps the first 4000 characters of each docstring
_ALIASES = {"BFLOAT8": "BFLOAT8_B", "BFLOAT4": "BFLOAT4_B", "ROW MAJOR": "ROW_MAJOR", "ANY": ANY}
_KNOWN_DTYPES = {"BFLOAT16", "FLOAT32", "BFLOAT8_B", "BFLOAT4_B", "UINT8", "UINT16", "UINT32", "INT8", "INT32",
                 "FP8_E4M3", ANY}
_KNOWN_LAYOUTS = {"TILE", "ROW_MAJOR", ANY}

def _names(text: str, known: set[str]) -> list[str]:
    text = re.sub(r"\([^)]*\)", "", text)  # "UINT32 (range: [0, 4294967295])" -> "UINT32"
    text = re.sub(r"\[[^\]]*\]", "", text)  # "UINT16 [0,255]" -> "UINT16"
    out = []
    for part in text.split(","):
        name = part.strip().upper()
        name = _ALIASES.get(name, name)
        if not name:
            continue
        if name not in known:
            raise ValueError(f"unrecognised entry {part.strip()!r}")
        out.append(name)
    return out


def _table_keys(title: str) -> list[str]:
    """'' -> ['*']; 'Input Tensor' -> ['input_tensor']; 'weight (gamma) and bias (beta)' -> ['weight', 'bias']."""
    title = re.sub(r"\([^)]*\)", "", title).strip()
    if not title:
        return [ANY]
    return [re.sub(r"\s+", "_", part.strip().lower()) for part in re.split(r"\band\b|,", title) if part.strip()]


def parse_tables(doc: str) -> tuple[dict, bool]:
    """Returns ({key: [[dtypes, layouts], ...]}, complete). ``complete`` is False when a table runs into the
    end of a docstring that was cut at DOC_LIMIT (its rows may be missing)."""
    lines = doc.split("\n")
    tables: dict[str, list] = {}
    complete = True
    i = 0
    while i < len(lines):
        m = re.match(r"\s*\.\. list-table::(.*)$", lines[i])
        if not m:
            i += 1
            continue
        keys = _table_keys(m.group(1))
        rows: list[list[str]] = []
        i += 1
        ended = False
        while i < len(lines):
            line = lines[i].strip()
            if line.startswith(":") or (not line and not rows):
                i += 1
                continue
            if line.startswith("* -"):
                rows.append([line[3:].strip()])
            elif line.startswith("- ") and rows:
                rows[-1].append(line[2:].strip())
            elif not line:
                i += 1
                continue
            else:
                ended = True
                break
            i += 1
        if not ended and len(doc) >= DOC_LIMIT:
            complete = False
        if not rows:
            continue
        header = [c.lower() for c in rows[0]]
        if not header or header[0] not in ("dtype", "dtypes"):
            continue  # some other table
        parsed = []
        for row in rows[1:]:
            if len(row) < 2:
                complete = False if len(doc) >= DOC_LIMIT else complete
                continue
            parsed.append([_names(row[0], _KNOWN_DTYPES), _names(row[1], _KNOWN_LAYOUTS)])
        for key in keys:
            tables.setdefault(key, []).extend(parsed)
    if not tables:
        m = re.search(r"Supported dtypes:\s*([A-Z0-9_, ]+)\s*$", doc, re.MULTILINE)
        if m:
            tables[ANY] = [[_names(m.group(1), _KNOWN_DTYPES), None]]
    return tables, complete


def generate(dump_path: str | Path) -> dict:
    """The table for every emulated op (``api.public_names``) from the API dump at ``dump_path``."""
    from tt_model.emulator import api

    modules = json.loads(Path(dump_path).read_text())["modules"]
    ops, unchecked = {}, {}
    for module, names in api.public_names().items():
        for name in names:
            entry = modules[module][name]
            if entry.get("kind") != "callable":
                continue
            doc = entry.get("doc") or ""
            qualified = f"{module}.{name}"
            tables, complete = parse_tables(doc)
            if tables and complete:
                ops[qualified] = tables
            elif len(doc) >= DOC_LIMIT:
                unchecked[qualified] = ("docstring cut at 4000 characters inside its dtype table" if tables
                                        else "docstring cut at 4000 characters before any dtype table")
    return {
        "source": "ttnn 0.81.1 API dump (first 4000 characters of each docstring)",
        "generator": "python -m tt_model.emulator.make_dtype_table tests/data/ttnn_api_0.81.1.json",
        "ops": ops,
        "unchecked": unchecked,
    }


def render(table: dict) -> str:
    """Stable JSON text, one op per line (easy to diff)."""
    def block(mapping: dict) -> str:
        rows = [f"  {json.dumps(k)}: {json.dumps(mapping[k], sort_keys=True)}" for k in sorted(mapping)]
        return "{\n" + ",\n".join(rows) + "\n }"
    head = [f" {json.dumps(k)}: {json.dumps(table[k])}" for k in ("source", "generator")]
    body = [f" \"ops\": {block(table['ops'])}", f" \"unchecked\": {block(table['unchecked'])}"]
    return "{\n" + ",\n".join(head + body) + "\n}\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print("usage: python -m tt_model.emulator.make_dtype_table API_DUMP.json [OUT.json]", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) == 2 else TABLE_FILE
    out.write_text(render(generate(argv[0])))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
