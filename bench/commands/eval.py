"""eval: lm-eval tasks on the HF CPU reference and on the TT-NN model; each side's lm-eval results JSON,
a comparison run (JSON + SQLite) and a table; exit 1 when a task's device/reference ratio is below
1 - tolerance."""

from __future__ import annotations

import argparse
import re
from contextlib import closing
from pathlib import Path

from ground.errors import ThresholdFailure, UserError

DEFAULT_OUT = Path("gptoss-bench-results")


def _limit(text: str) -> float | int:
    """lm-eval's --limit: a document count, or a fraction of each task when below 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit {text!r} is not a number") from None
    if value <= 0 or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError(f"--limit {text!r}: a count >= 1 or a fraction in (0, 1)")
    return int(value) if value >= 1 else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", default=None,
                        help="lm-eval task or group names, comma separated (shipped: gptoss_tiny); default: the suite's")
    parser.add_argument("--suite", default=None, help="suite name or YAML with a tasks: block (names, limit, "
                                                      "tolerance, model_args), also giving model, meshes and dtypes")
    parser.add_argument("--model", default=None, help="checkpoint directory (default: $HF_MODEL, the suite's, "
                                                      "else the bundled tiny model)")
    parser.add_argument("--mesh", default=None, help="device mesh RxC (default: the suite's meshes, else 1x8)")
    parser.add_argument("--backend", choices=("auto", "ttnn", "emulated"), default="auto",
                        help="auto: real ttnn when a device opens, else the host emulator")
    parser.add_argument("--limit", type=_limit, default=None, help="documents per task (a fraction when < 1)")
    parser.add_argument("--num-fewshot", type=int, default=None, help="few-shot examples per prompt")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="a task passes when device/reference >= 1 - tolerance (default: the suite's, else 0.05)")
    parser.add_argument("--batch-size", type=int, default=None, help="requests per forward pass, both sides")
    parser.add_argument("--model-args", default="", help="lm-eval model args for both sides, KEY=VALUE,... "
                                                         "(e.g. add_bos_token=false,max_gen_toks=64)")
    parser.add_argument("--gen-kwargs", default=None, help="lm-eval --gen_kwargs, overriding the tasks' generation")
    parser.add_argument("--apply-chat-template", action="store_true",
                        help="chat-format prompts (the tokenizer's template, else harmony)")
    parser.add_argument("--include-path", type=Path, action="append", default=[],
                        help="another directory of lm-eval task YAMLs (repeatable)")
    parser.add_argument("--log-samples", action="store_true", help="also write lm-eval's per-document samples")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results directory (default ./{DEFAULT_OUT})")
    parser.add_argument("--db", default=None, help="results database (default $GPTOSS_BENCH_CACHE/results.db)")


def request_from_args(args: argparse.Namespace):
    """The EvalRequest the arguments (and the suite, when given) describe."""
    from lm_eval.utils import simple_parse_args_string

    from bench.eval import DEFAULT_TOLERANCE, EvalRequest
    from bench.suite import load_suite
    from ground.checkpoint import resolve_checkpoint
    from tt_model.mesh import parse_mesh

    loaded = load_suite(args.suite) if args.suite else None
    spec = loaded.suite.tasks if loaded else None
    if loaded and spec is None and not args.tasks:
        raise UserError(f"suite {loaded.suite.name!r} lists no tasks; add a 'tasks:' block or pass --tasks")
    names = tuple(n.strip() for n in (args.tasks or "").split(",") if n.strip()) or (tuple(spec.names) if spec else ())
    if not names:
        raise UserError("no tasks: pass --tasks NAME[,NAME...] (e.g. --tasks gptoss_tiny) or a --suite that lists tasks")
    try:
        model_args = {**(spec.model_args if spec else {}), **simple_parse_args_string(args.model_args)}
    except (ValueError, IndexError):
        raise UserError(f"--model-args {args.model_args!r} is not KEY=VALUE[,KEY=VALUE...]") from None
    clash = sorted({"mesh", "backend", "pretrained"} & set(model_args))
    if clash:
        raise UserError(f"--model-args {', '.join(clash)}: use --mesh, --backend and --model instead")
    if args.batch_size is not None:
        model_args["batch_size"] = args.batch_size
    if args.gen_kwargs:  # checked now, not when the first generation batch meets it
        from bench.lmeval.generation import gen_spec

        try:
            gen_kwargs = simple_parse_args_string(args.gen_kwargs)
        except (ValueError, IndexError):
            raise UserError(f"--gen-kwargs {args.gen_kwargs!r} is not KEY=VALUE[,KEY=VALUE...]") from None
        gen_spec(gen_kwargs, 1, 0)
    tolerance = args.tolerance if args.tolerance is not None else (spec.tolerance if spec else DEFAULT_TOLERANCE)
    if not 0 <= tolerance < 1:
        raise UserError(f"--tolerance {tolerance} must be in [0, 1)")
    if args.num_fewshot is not None and args.num_fewshot < 0:
        raise UserError(f"--num-fewshot {args.num_fewshot} must be >= 0")
    meshes = (str(parse_mesh(args.mesh)),) if args.mesh else tuple(loaded.suite.meshes) if loaded else ("1x8",)
    checkpoint = resolve_checkpoint(args.model, loaded.suite.model if loaded else None,
                                    loaded.source.parent if loaded else None)
    precision = loaded.suite.dtypes.precision() if loaded and "precision" not in model_args else None
    return EvalRequest(
        tasks=names, checkpoint=checkpoint, meshes=meshes, backend=args.backend, precision=precision,
        limit=args.limit if args.limit is not None else (spec.limit if spec else None),
        num_fewshot=args.num_fewshot if args.num_fewshot is not None else (spec.num_fewshot if spec else None),
        tolerance=tolerance, model_args=model_args, include_paths=tuple(args.include_path),
        gen_kwargs=args.gen_kwargs, apply_chat_template=args.apply_chat_template,
        suite_name=loaded.suite.name if loaded else None, suite_hash=loaded.hash if loaded else None)


def _stem(request, mesh: str, run_id: str) -> str:
    name = request.suite_name or "+".join(request.tasks)
    return f"eval-{re.sub(r'[^A-Za-z0-9_.+-]', '_', name)}-{mesh}-{run_id}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench import preflight
    from bench.accuracy_summary import failures
    from bench.eval import check_model_args, prepare_tasks, run_eval
    from bench.eval_files import write_side
    from bench.eval_summary import lines
    from bench.output import emit
    from bench.store import connect, land

    request = request_from_args(args)
    check_model_args(request)
    preflight.writable_dir(args.out, "--out")
    preflight.usable_db(args.db)
    preflight.backend_available(args.backend)
    preflight.meshes_divide(request.checkpoint, list(request.meshes))
    tasks = prepare_tasks(request)  # unknown task or missing data: one line, before any model loads
    with _Bars(Console(stderr=True)) as bars:
        runs = run_eval(request, bars.progress(quiet=not args.verbose), tasks)
    landed = []
    with closing(connect(args.db)) as db:
        for run_ in runs:
            stem = _stem(request, run_.result.provenance.mesh, run_.result.run_id)
            # lm-eval's own files first: a stored run never points at results that were not written.
            files = [write_side(args.out / stem / side.model, side.results, side.tracker, args.log_samples)
                     for side in (run_.reference, run_.device)]
            landed.append((run_, land(db, run_.result, args.out / f"{stem}.json"), files))
    failed = []
    for run_, path, files in landed:
        emit("\n".join(lines(run_.result, markup=True)), markup=True)
        emit(f"lm-eval results: {files[0]}\n                 {files[1]}")
        emit(f"results: {path}  (run {run_.result.run_id}, verdict {run_.result.state})")
        failed += failures(run_.result)
    if failed:
        shown = "; ".join(v.message for v in failed[:3]) + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else "")
        raise ThresholdFailure(f"{len(failed)} task(s) below device/reference >= {1 - request.tolerance:g}: {shown}")
    return 0


class _Bars:
    """rich progress bars on stderr, one per side and request kind."""

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.bars = Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console)
        self.ids: dict[str, int] = {}

    def __enter__(self):
        self.bars.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bars.__exit__(*exc)

    def progress(self, quiet: bool):
        from bench.eval import Progress

        def phase(name: str, total: int) -> None:
            self.ids[name] = self.bars.add_task(name, total=total)

        return Progress(phase=phase, advance=lambda name, n: self.bars.advance(self.ids[name], n),
                        log=lambda msg: self.console.print(msg, markup=False, highlight=False), quiet_lm_eval=quiet)
