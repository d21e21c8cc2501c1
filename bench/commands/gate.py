"""gate: judge candidate runs against a baseline for CI; exit 1 when anything regressed or failed."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", help="candidate results files or run ids ('latest' for the newest run)")
    parser.add_argument("--baseline", default=None,
                        help="results file, run id or 'latest' (default: the committed suites/baselines/"
                             "<kind>-<suite>-<mesh>.json of each candidate)")
    parser.add_argument("--db", default=None, help="results database for run ids and 'latest'")
    parser.add_argument("--allow-incomparable", action="store_true",
                        help="do not fail on runs or values that cannot be compared (another model, mesh, backend ...)")
    parser.add_argument("--factor", type=float, default=1.10, help="speed: worse by more than this ratio fails (1.10)")
    parser.add_argument("--tolerance", type=float, default=0.01,
                        help="accuracy: drop beyond this absolute amount fails (0.01)")
    parser.add_argument("--task-tolerance", type=float, default=0.02,
                        help="task scores: drop beyond max(this, 2 x stderr) fails (0.02)")
    parser.add_argument("--junit", type=Path, default=None, help="write a JUnit XML file (one testcase per value)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="write the table as Markdown (also appended to $GITHUB_STEP_SUMMARY when set)")
    parser.add_argument("--json", type=Path, default=None, help="write the comparison as JSON")
    parser.add_argument("--update-baseline", action="store_true",
                        help="write each candidate as its baseline (atomically) instead of gating")


def run(args: argparse.Namespace) -> int:
    from bench import gate, gate_output
    from bench.output import emit
    from bench.result_refs import committed_baseline, resolve
    from ground.errors import ThresholdFailure, UserError

    if args.factor <= 1 or args.tolerance < 0 or args.task_tolerance < 0:
        raise UserError(f"--factor must be > 1 and tolerances >= 0 (got {args.factor}, {args.tolerance}, "
                        f"{args.task_tolerance})")
    _check_outputs(args)
    candidates = [resolve(spec, args.db) for spec in args.results]
    if args.update_baseline:
        return _update(args, candidates)
    rules = gate.Rules(accuracy=gate.DropRule(args.tolerance), task=gate.StderrRule(args.task_tolerance),
                       speed=gate.RatioRule(args.factor))
    reports = []
    for candidate, name in candidates:
        if args.baseline is None:
            path = committed_baseline(candidate)
            if not path.is_file():
                raise UserError(f"no committed baseline {path} for {name}; pass --baseline or run with "
                                "--update-baseline")
            baseline, b_name = resolve(str(path), args.db)
        else:
            baseline, b_name = resolve(args.baseline, args.db, like=candidate)
        reports.append(gate.compare(baseline, candidate, rules, b_name, name))
    for report in reports:
        emit("\n".join(gate_output.text(report)))
    _write_outputs(args, reports)
    failing = [r for report in reports for r in report.failing(args.allow_incomparable)]
    if failing:
        shown = "; ".join(f"{r.label} {r.state}" for r in failing[:4])
        more = f" (+{len(failing) - 4} more)" if len(failing) > 4 else ""
        raise ThresholdFailure(f"gate: {len(failing)} value(s) failed: {shown}{more}")
    return 0


def _check_outputs(args) -> None:
    from bench.preflight import writable_dir

    for flag in ("junit", "markdown", "json"):
        path = getattr(args, flag)
        if path is not None:
            writable_dir(path.parent, f"--{flag}")


def _write_outputs(args, reports) -> None:
    from bench import gate_output
    from ground.fsutil import atomic_text
    from ground.settings import settings

    allow = args.allow_incomparable
    markdown = gate_output.markdown(reports, allow)
    if args.junit:
        atomic_text(args.junit, gate_output.junit(reports, allow))
    if args.markdown:
        atomic_text(args.markdown, markdown)
    if args.json:
        atomic_text(args.json, gate_output.as_json(reports, allow))
    summary = settings().github_step_summary
    if summary is not None:
        with open(summary, "a") as f:
            f.write(markdown + "\n")


def _update(args, candidates) -> int:
    from bench.output import emit
    from bench.result_refs import committed_baseline
    from bench.results import save_result

    if args.baseline is not None and len(candidates) > 1:
        from ground.errors import UserError

        raise UserError("--update-baseline with --baseline FILE takes one candidate")
    for candidate, name in candidates:
        target = Path(args.baseline) if args.baseline is not None else committed_baseline(candidate)
        save_result(candidate, target)
        emit(f"baseline {target} <- {name}")
    return 0
