"""report: one self-contained HTML page per run or comparison, rendered from stored results only."""

from __future__ import annotations

import argparse
from pathlib import Path

HISTORY = 30  # stored runs of the same kind, suite and mesh shown as trends
KINDS = ("accuracy", "eval", "perf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="*", help="results files or run ids")
    parser.add_argument("--run", action="append", default=[], metavar="ID", help="a stored run id (repeatable)")
    parser.add_argument("--latest", action="store_true",
                        help="the newest stored run of each kind (accuracy, perf, eval), of --suite when given")
    parser.add_argument("--suite", default=None, help="with --latest: only runs of this suite")
    parser.add_argument("--baseline", default=None, help="results file, run id or 'latest': adds the gate's table")
    parser.add_argument("--db", default=None, help="results database (default under $GPTOSS_BENCH_CACHE)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")


def run(args: argparse.Namespace) -> int:
    from bench.output import emit
    from bench.preflight import writable_dir
    from ground.errors import UserError
    from ground.fsutil import atomic_text
    from reports.render import render

    if not (args.results or args.run or args.latest):
        raise UserError("name the runs to report: RESULTS..., --run ID or --latest")
    if args.out.exists() and args.out.is_dir():
        raise UserError(f"--out {str(args.out)!r} is a directory; expected the HTML file to write")
    writable_dir(args.out.parent, "--out")
    runs = _runs(args)
    history = _history(args.db, runs)
    reports, baseline_name = _comparisons(args, runs)
    html = render(runs, history, reports, baseline_name)
    atomic_text(args.out, html)
    emit(f"report: {args.out} ({len(html.encode()) / 1024:.0f} KiB, {len(runs)} run(s))")
    return 0


def _runs(args):
    from contextlib import closing

    from bench import store
    from bench.result_refs import resolve

    runs = [resolve(spec, args.db)[0] for spec in [*args.results, *args.run]]
    if args.latest:
        with closing(store.connect(args.db, create=False)) as conn:
            ids = [row[0] for kind in KINDS for row in conn.execute(
                "SELECT run_id FROM runs WHERE kind = ? AND (? IS NULL OR suite = ?) ORDER BY time DESC, run_id DESC "
                "LIMIT 1", (kind, args.suite, args.suite))]
            if not ids:
                from ground.errors import UserError

                raise UserError(f"no stored runs{' of suite ' + args.suite if args.suite else ''} in "
                                f"{args.db or store.default_db()}")
            runs += [store.load_run(conn, run_id) for run_id in ids]
    unique = {r.run_id: r for r in runs}
    return list(unique.values())


def _history(db, runs) -> dict:
    """run id -> the stored runs of its kind, suite and mesh (none when there is no database)."""
    from contextlib import closing

    from bench import store

    path = Path(db) if db else store.default_db()
    if not path.exists():
        return {}
    out = {}
    with closing(store.connect(db, create=False)) as conn:
        for run in runs:
            ids = [r[0] for r in conn.execute(
                "SELECT run_id FROM runs WHERE kind = ? AND suite = ? AND mesh = ? ORDER BY time DESC, run_id DESC "
                "LIMIT ?", (run.kind, run.provenance.suite_name, run.provenance.mesh, HISTORY))]
            out[run.run_id] = [store.load_run(conn, i) for i in ids]
    return out


def _comparisons(args, runs):
    from bench.gate import compare
    from bench.result_refs import resolve

    if args.baseline is None:
        return [], None
    from ground.errors import UserError

    reports, name = [], args.baseline
    for run in runs:
        try:
            baseline, name = resolve(args.baseline, args.db, like=run)
        except UserError:
            if args.baseline == "latest":  # no earlier run of this kind: nothing to compare it with
                continue
            raise
        if baseline.kind == run.kind and baseline.run_id != run.run_id:
            reports.append(compare(baseline, run, baseline_name=name, candidate_name=f"run {run.run_id}"))
    return reports, "latest stored runs" if args.baseline == "latest" else name
