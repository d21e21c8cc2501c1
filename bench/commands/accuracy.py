"""accuracy: the TT-NN model and the HF CPU reference side by side; JSON + SQLite results, exit 1 on a
failed threshold."""

from __future__ import annotations

import argparse
import time
from contextlib import closing
from pathlib import Path

from ground.errors import ThresholdFailure

DEFAULT_SUITE = "smoke"
DEFAULT_OUT = Path("gptoss-bench-results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default=DEFAULT_SUITE, help=f"suite name or YAML file (default {DEFAULT_SUITE})")
    parser.add_argument("--model", default=None, help="checkpoint directory, overriding the suite's model")
    parser.add_argument("--backend", choices=("auto", "ttnn", "emulated"), default="auto",
                        help="auto: real ttnn when a device opens, else the host emulator")
    parser.add_argument("--mesh", default=None, help="mesh RxC (e.g. 1x8, 4x8), overriding the suite's meshes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"directory for result JSON (default ./{DEFAULT_OUT})")
    parser.add_argument("--db", default=None, help="results database (default $GPTOSS_BENCH_CACHE/results.db, "
                                                   "else ~/.cache/gptoss-bench/results.db)")
    parser.add_argument("--reference-mode", choices=("auto", "whole", "stream"), default="auto",
                        help="HF reference: whole model, one layer at a time, or auto by model size")
    parser.add_argument("--no-cache", action="store_true", help="recompute the reference even when cached")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from dataclasses import replace

    from bench import preflight
    from bench.accuracy import AccuracyRequest, run_accuracy
    from bench.accuracy_summary import failures, lines
    from bench.output import emit
    from bench.store import connect, land
    from bench.suite import load_suite
    from tt_model.mesh import parse_mesh

    loaded = load_suite(args.suite)
    meshes = (str(parse_mesh(args.mesh)),) if args.mesh else ()
    request = AccuracyRequest(suite=loaded, model=args.model, backend=args.backend, meshes=meshes,
                              reference_mode=args.reference_mode, use_cache=not args.no_cache)
    request = replace(request, checkpoint=preflight.accuracy(request, args.out, args.db))
    err = Console(stderr=True)
    with _Bars(err) as bars:
        results = run_accuracy(request, bars.progress())
    failed = []
    with closing(connect(args.db)) as db:
        # Every run lands (JSON and row together) before anything is printed: a closed pipe or an
        # interrupt while printing never costs a result.
        paths = [land(db, r, args.out / f"accuracy-{loaded.suite.name}-{r.provenance.mesh}-{r.run_id}.json")
                 for r in results]
    for result, path in zip(results, paths):
        emit("\n".join(lines(result, markup=True)), markup=True)
        emit(f"results: {path}  (run {result.run_id}, verdict {result.state})")
        failed += failures(result)
    if failed:
        names = "; ".join(v.message for v in failed[:3])
        more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
        raise ThresholdFailure(f"{len(failed)} threshold(s) failed: {names}{more}")
    return 0


class _Bars:
    """rich progress bars, one per phase (reference, device <mesh>, compare), on stderr: percentage,
    elapsed, ETA and where the phase is (pass, layer, step). Off a terminal (CI logs) the bars are not
    drawn; a plain progress line is printed every ``PLAIN_EVERY`` seconds instead."""

    PLAIN_EVERY = 30.0

    def __init__(self, console):
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.console = console
        self.bars = Progress(TextColumn("{task.description:<16}"), BarColumn(bar_width=24), TaskProgressColumn(),
                             TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                             TextColumn("{task.fields[detail]}"), console=console,
                             disable=not console.is_terminal)  # off a terminal rich would still print them once
        self.tasks: dict[str, int] = {}
        self._last_plain = 0.0

    def __enter__(self):
        self.bars.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bars.__exit__(*exc)

    def _plain(self, name: str) -> None:
        if self.console.is_terminal or time.monotonic() - self._last_plain < self.PLAIN_EVERY:
            return
        self._last_plain = time.monotonic()
        task = self.bars.tasks[self.tasks[name]]
        eta = "" if task.time_remaining is None else f", eta {task.time_remaining / 60:.1f} min"
        self.console.print(f"{name}: {task.percentage:.0f}%{eta} {task.fields['detail']}".rstrip(),
                           markup=False, highlight=False)

    def progress(self):
        from bench.accuracy import Progress

        def phase(name: str, total: float) -> None:
            self.tasks[name] = self.bars.add_task(name, total=total, detail="")
            self._last_plain = time.monotonic()

        def advance(name: str, amount: float = 1.0) -> None:
            self.bars.advance(self.tasks[name], amount)
            self._plain(name)

        return Progress(phase=phase, advance=advance,
                        detail=lambda name, text: self.bars.update(self.tasks[name], detail=text),
                        # Plain lines (no markup: paths may hold brackets); a log's source path per line is noise.
                        log=lambda msg: self.console.print(msg, markup=False, highlight=False, soft_wrap=True))
