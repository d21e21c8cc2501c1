"""compare: two runs side by side, value by value (baseline first), with the gate's judgement of each."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", help="results file, run id, or 'latest'")
    parser.add_argument("candidate", help="results file, run id, or 'latest'")
    parser.add_argument("--db", default=None, help="results database for run ids and 'latest'")


def run(args: argparse.Namespace) -> int:
    from bench.gate import compare
    from bench.gate_output import text
    from bench.output import emit
    from bench.result_refs import resolve

    candidate, c_name = resolve(args.candidate, args.db)
    baseline, b_name = resolve(args.baseline, args.db, like=candidate)
    emit("\n".join(text(compare(baseline, candidate, baseline_name=b_name, candidate_name=c_name))))
    return 0
