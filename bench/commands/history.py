"""`gptoss-bench history`: list stored runs, newest first (read-only: creates nothing)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing

FORMATS = ("table", "text", "csv", "json")
COLUMNS = ("time", "run_id", "kind", "suite", "model", "backend", "mesh", "verdict", "min_layer_out_pcc", "top1", "kl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="results database (default: $GPTOSS_BENCH_CACHE/results.db)")
    parser.add_argument("--suite", help="only runs of this suite name")
    parser.add_argument("--limit", type=_positive, default=20, help="at most N runs (default 20)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="table on a terminal, else text; csv and json for scripts")


def _positive(text: str) -> int:
    from ground.errors import UserError

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise UserError(f"--limit {text!r} is not a positive integer")
    return value


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _records(runs: list[dict]) -> list[dict]:
    return [{"time": r["time"][:19], "run_id": r["run_id"], "kind": r["kind"], "suite": r["suite"],
             "model": f"{r['model_path']} ({r['model_identity'][:8]})",
             "backend": r["backend"] + (f" {r['ttnn_version']}" if r["ttnn_version"] else ""), "mesh": r["mesh"],
             "verdict": r["verdict"], "min_layer_out_pcc": r["min_pcc"], "top1": r["figures"].get("top1"),
             "kl": r["figures"].get("kl")} for r in runs]


def run(args: argparse.Namespace) -> int:
    from bench import store
    from bench.output import emit

    path = args.db or store.default_db()
    if args.db is None and not store.default_db().exists():
        emit(f"no runs stored yet (no database at {path})")
        return 0
    with closing(store.connect(args.db, create=False)) as conn:
        records = _records(store.list_runs(conn, suite=args.suite, limit=args.limit))
    fmt = args.format or ("table" if sys.stdout.isatty() else "text")
    if not records and fmt in ("table", "text"):
        emit(f"no runs{' of suite ' + args.suite if args.suite else ''} in {path}")
        return 0
    emit(_render(records, fmt), markup=fmt == "table")
    return 0


def _render(records: list[dict], fmt: str):
    if fmt == "json":
        import json

        return json.dumps(records, indent=1)
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().rstrip("\n")
    cells = [[_cell(r[c]) for c in COLUMNS] for r in records]
    if fmt == "text":  # whole values, aligned, whatever the width: for pipes, logs and files
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
        lines = [COLUMNS] + cells
        return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines)
    from rich.table import Table

    table = Table(title="stored runs")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column in ("time", "run_id"))
    for row in cells:
        table.add_row(*row)
    return table


def _cell(value) -> str:
    return _fmt(value) if isinstance(value, float) or value is None else str(value)
