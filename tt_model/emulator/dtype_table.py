"""Documented input dtypes and layouts per op, read off the ttnn 0.81.1 docstrings.

Many 0.81.1 docstrings carry a "Supported dtypes and layouts" reST ``list-table`` (e.g. ``ttnn.sigmoid``:
BFLOAT16 only), sometimes one per argument (``ttnn.linear``: ``input_tensor_a``, ``input_tensor_b``, ``bias``;
``ttnn.rms_norm``: ``weight (gamma) and bias (beta)``), sometimes one row per dtype with its own layouts
(``ttnn.sum``: BFLOAT8_B TILE only), and a few just a line ``Supported dtypes: A, B`` (``ttnn.abs``).

The emulator checks every tensor argument of an emulated op against this table (``check``) and raises as a
TT_FATAL would for an undocumented dtype/layout. The table ships as ``dtype_support_0.81.1.json`` next to this
file; it is produced from the API dump by

    python -m tt_model.emulator.make_dtype_table tests/data/ttnn_api_0.81.1.json

(``make_dtype_table.py``, never at run time; a test regenerates it and compares). Table keys: ``"*"`` = every tensor argument
(untitled table), else the argument name the table is titled with. Each entry is a list of
``[dtypes, layouts]`` rows; ``layouts`` None = not documented (dtype-only line). Ops whose docstring was cut at
4000 characters before a complete table are listed under ``"unchecked"`` and not checked.
"""
from __future__ import annotations

import json
from pathlib import Path

TABLE_FILE = Path(__file__).with_name("dtype_support_0.81.1.json")
ANY = "*"
# Arguments that receive the op's result rather than feed it; a titled table for them is kept but not checked
# as an input.
OUTPUT_ARGS = ("output_tensor", "optional_output_tensor")

_LOADED: dict | None = None


def load() -> dict:
    global _LOADED
    if _LOADED is None:
        _LOADED = json.loads(TABLE_FILE.read_text())
    return _LOADED


def tables_for(qualified: str) -> dict | None:
    return load()["ops"].get(qualified)


def check(qualified: str, tables: dict, arguments: dict, tensor_type) -> None:
    """Raises RuntimeError for a tensor argument whose dtype/layout the op's table does not document."""
    for arg, value in arguments.items():
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            if not isinstance(v, tensor_type):
                continue
            rows = tables.get(arg)
            if rows is None:
                if arg in OUTPUT_ARGS or ANY not in tables:
                    continue
                rows = tables[ANY]
            dtype, layout = v.dtype.name, v.layout.name
            if any((ANY in dts or dtype in dts) and (lts is None or ANY in lts or layout in lts) for dts, lts in rows):
                continue
            documented = "; ".join(f"{', '.join(d)}" + (f" ({', '.join(l)})" if l else "") for d, l in rows)
            raise RuntimeError(f"TT_FATAL: {qualified}: {arg} has dtype {dtype} in {layout} layout, which "
                               f"{qualified} does not support (ttnn 0.81.1 documents: {documented})")

