"""reference: run the HF CPU reference on a prompt, save its captures, print a per-layer summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ground.errors import UserError

DEFAULT_PROMPT = "How many r's in 'strawberry'?"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="checkpoint directory (default: $HF_MODEL, else the bundled tiny model)")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help=f"prompt text (default: {DEFAULT_PROMPT!r})")
    parser.add_argument("--decode-steps", type=int, default=4, help="greedy decode steps after the prefill (default 4)")
    parser.add_argument("--mode", choices=("whole", "stream"), default="whole",
                        help="whole: HF whole-model forward; stream: one layer in memory at a time")
    parser.add_argument("--no-cache", action="store_true", help="recompute even if cached captures exist")
    parser.add_argument("--out", type=Path, default=None, help="directory for captures.safetensors and summary.json")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from bench import preflight
    from bench.output import emit
    from ground.checkpoint import resolve_checkpoint
    from ground.settings import settings
    from reference.runner import run_reference
    from reference.summary import layer_rows, render_table

    if not args.prompt.strip():
        raise UserError("--prompt is empty; expected some text to run")
    if args.decode_steps < 0:
        raise UserError(f"--decode-steps {args.decode_steps} is negative; expected 0 or more")
    if args.out is not None:
        preflight.writable_dir(args.out, "--out")
    if not args.no_cache:
        preflight.writable_dir(settings().cache, "cache GPTOSS_BENCH_CACHE")
    checkpoint = resolve_checkpoint(args.model)
    checkpoint.check_weights()
    tokenizer = checkpoint.tokenizer
    input_ids = tokenizer(args.prompt, return_tensors="pt").input_ids
    preflight.lengths(checkpoint, [input_ids.shape[1]], args.decode_steps, "--prompt")
    preflight.whole_reference_fits(checkpoint, args.mode)
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        progress.add_task(f"reference ({args.mode}) on {checkpoint.path.name}", total=None)
        captures = run_reference(checkpoint, input_ids, decode_steps=args.decode_steps, mode=args.mode,
                                 use_cache=not args.no_cache, log=console.print)
    continuation = tokenizer.decode(captures.decode_tokens[0].tolist())
    if args.out is not None:
        _write_outputs(args.out, captures, layer_rows(captures), input_ids, continuation)
    emit(render_table(captures), markup=True)
    emit(f"prompt tokens: {input_ids.shape[1]}  greedy continuation: {continuation!r}")
    if args.out is not None:
        emit(f"wrote {args.out / 'captures.safetensors'} and {args.out / 'summary.json'}")
    return 0


def _write_outputs(out: Path, captures, rows, input_ids, continuation) -> None:
    from ground.fsutil import atomic_text

    captures.save(out / "captures.safetensors")
    summary = {"model_dir": captures.metadata.get("model_dir"), "prompt_tokens": input_ids.tolist(),
               "phases": list(captures.phases), "continuation": continuation, "layers": rows}
    atomic_text(out / "summary.json", json.dumps(summary, indent=2))
