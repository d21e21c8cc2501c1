"""perf: TTFT, decode speed and throughput per mesh / batch / ISL / OSL; modelled on the emulator, measured on
a Wormhole. Writes perf-<suite or size>-<mesh>-<run id>.json, the modelled op trace as ops_perf_results_<run id>.csv
and, with --profile-csv, profile-<run id>.json; stores every run in SQLite."""

from __future__ import annotations

import argparse
import json
from contextlib import closing
from pathlib import Path

from ground.errors import UserError

DEFAULT_OUT = Path("gptoss-bench-results")
DEFAULT_SUITE = "smoke"


def _ints(flag: str):
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{text!r} names no value")
        return values
    parse.__name__ = flag
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default=None, help="suite name or YAML file with a perf section (default: smoke "
                                                      "unless --size is given)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", default=None, help="checkpoint directory (real weights)")
    model.add_argument("--size", default=None, help="20b or 120b: the full-size published config without "
                                                    "weights, modelled on the emulator (shape-only)")
    parser.add_argument("--mesh", action="append", default=None, help="mesh RxC (repeatable, e.g. 1x8, 4x8)")
    parser.add_argument("--batch", type=_ints("--batch"), default=(), help="batch sizes, e.g. 1,32")
    parser.add_argument("--isl", type=_ints("--isl"), default=(), help="input sequence lengths, e.g. 128,1024")
    parser.add_argument("--osl", type=_ints("--osl"), default=(), help="output sequence lengths, e.g. 128")
    parser.add_argument("--repeats", type=int, default=None, help="measured runs per point (default 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs after the compile run (default 0)")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=None,
                        help="decode under metal trace capture (default on)")
    parser.add_argument("--precision", default=None, help="precision preset (default, bf8_experts)")
    parser.add_argument("--backend", choices=("auto", "ttnn", "emulated"), default="auto",
                        help="auto: real ttnn when a device opens, else the host emulator")
    parser.add_argument("--cost-model", default=None, help="YAML overriding Wormhole cost model constants "
                                                           "(tt_model/wormhole_costs.yaml keys)")
    parser.add_argument("--profile-csv", type=Path, default=None,
                        help="a hardware run's ops_perf_results CSV: per-op measured vs modelled, and the "
                             "measured op breakdown")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    parser.add_argument("--db", default=None, help="results database (default $GPTOSS_BENCH_CACHE/results.db)")


def run(args: argparse.Namespace) -> int:
    from bench.perf import PerfRequest, run_perf
    from bench.perf_summary import performance_block, table
    from bench.profiler_csv import write_csv
    from bench import preflight
    from bench.output import emit
    from bench.store import connect, land
    from ground.fsutil import atomic_text
    from bench.suite import load_suite
    from tt_model.mesh import parse_mesh

    if args.size is not None and args.size not in ("20b", "120b"):
        raise UserError(f"--size {args.size!r} is not known; expected 20b or 120b")
    if args.repeats is not None and args.repeats < 1:
        raise UserError(f"--repeats {args.repeats}: at least one measured run is needed")
    if args.profile_csv is not None and not args.profile_csv.is_file():
        raise UserError(f"--profile-csv {str(args.profile_csv)!r} does not exist")
    suite = load_suite(args.suite or DEFAULT_SUITE) if args.suite or args.size is None else None
    meshes = tuple(str(parse_mesh(m)) for m in args.mesh) if args.mesh else ()
    preflight.writable_dir(args.out, "--out")
    preflight.usable_db(args.db)
    request = PerfRequest(suite=suite, size=args.size, model=args.model, meshes=meshes, batches=args.batch,
                          isls=args.isl, osls=args.osl, repeats=args.repeats, warmup=args.warmup, trace=args.trace,
                          precision=args.precision, backend=args.backend, cost_model=args.cost_model,
                          profile_csv=args.profile_csv)
    runs = run_perf(request, log=lambda msg: print(msg, flush=True))
    with closing(connect(args.db)) as db:
        # Each run lands whole (JSON and database row) before anything else is written or printed.
        landed = [(run_, land(db, run_.result, args.out / f"perf-{run_.result.provenance.suite_name}-"
                                                            f"{run_.result.provenance.mesh}-{run_.result.run_id}.json"))
                  for run_ in runs]
    for run_, path in landed:
        result = run_.result
        emit("\n".join(table(result)))
        emit("\n".join(performance_block(result)))
        if run_.records:
            csv = write_csv(args.out / f"ops_perf_results_{result.run_id}.csv", run_.records, run_.signposts)
            emit(f"modelled op trace: {csv}")
        if run_.profile is not None:
            comparison = run_.profile.comparison
            profile = atomic_text(args.out / f"profile-{result.run_id}.json", json.dumps({
                "source": str(run_.profile.source), "rows": comparison.rows, "classes": comparison.classes,
                "measured_total_ns": comparison.measured_total_ns, "modelled_total_ns": comparison.modelled_total_ns,
                "total_error": comparison.total_error,
                "breakdown": [b.model_dump() for b in run_.profile.breakdown]}, indent=1))
            emit(f"profile (measured vs modelled per op): {profile}")
        emit(f"results: {path}  (run {result.run_id})")
    return 0
