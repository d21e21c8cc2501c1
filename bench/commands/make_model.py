"""make-model: write a GPT-OSS checkpoint directory in the Hugging Face layout."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ground.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, help="tiny, 20b or 120b")
    parser.add_argument("--layers", type=int, default=None, help="cut the depth to N layers (random weights)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="tiny: random weights instead of the bundled trained model")
    parser.add_argument("--retrain", action="store_true",
                        help="tiny: train it again from the corpus (about 50 min on 2 cores) instead of copying the bundled one")
    parser.add_argument("--out", required=True, type=Path, help="directory to write")


def run(args: argparse.Namespace) -> int:
    from ground.checkpoint import Checkpoint
    from reference.checkpoint_writer import make_checkpoint
    from reference.presets import get_preset

    get_preset(args.preset)  # validates before any work
    if args.retrain and (args.preset != "tiny" or args.random or args.layers is not None):
        raise UserError(f"--retrain applies to --preset tiny alone (got --preset {args.preset}"
                        f"{' --random' if args.random else ''}{'' if args.layers is None else f' --layers {args.layers}'})")
    start = time.perf_counter()
    if args.retrain:
        from bench.train_tiny import TrainConfig, train_and_write

        out = train_and_write(TrainConfig(out=args.out, seed=args.seed))
    else:
        out = make_checkpoint(args.preset, args.out, layers=args.layers, seed=args.seed, random=args.random)
    size = sum(p.stat().st_size for p in out.iterdir())
    identity = Checkpoint.open(out).identity
    print(f"wrote {out} ({size / 2**20:.1f} MiB, identity {identity}) in {time.perf_counter() - start:.1f} s")
    return 0
