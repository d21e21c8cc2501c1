"""`gptoss-bench history`: list stored accuracy runs, newest first."""

from __future__ import annotations

import argparse
from contextlib import closing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="results database (default: $GPTOSS_BENCH_CACHE/results.db)")
    parser.add_argument("--suite", help="only runs of this suite name")
    parser.add_argument("--limit", type=_positive, default=20, help="at most N runs (default 20)")


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


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench import store

    with closing(store.connect(args.db, create=False)) as conn:
        runs = store.list_runs(conn, suite=args.suite, limit=args.limit)
    console = Console()
    if not runs:
        console.print(f"no runs{' of suite ' + args.suite if args.suite else ''} in {args.db or store.default_db()}")
        return 0
    table = Table(title="accuracy runs")
    for column in ("time", "run id", "suite", "model", "backend", "mesh", "verdict", "min layer_out PCC", "top1", "KL"):
        table.add_column(column, no_wrap=column in ("time", "run id"))
    for r in runs:
        backend = r["backend"] + (f" {r['ttnn_version']}" if r["ttnn_version"] else "")
        table.add_row(
            r["time"][:19], r["run_id"], r["suite"], f"{r['model_path']} ({r['model_identity'][:8]})", backend,
            r["mesh"], r["verdict"], _fmt(r["min_pcc"]), _fmt(r["figures"].get("top1")), _fmt(r["figures"].get("kl")),
        )
    console.print(table)
    return 0
