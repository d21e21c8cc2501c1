"""generate: text from prompts through the TT-NN model, streamed as it is decoded, with the performance block."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ground.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", action="append", default=[], help="a prompt (repeat for a batch)")
    parser.add_argument("--prompts", type=Path, default=None, help="a file with one prompt per line")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="tokens to generate per prompt (default 64)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling threshold (default 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--mesh", default=None, help="mesh RxC (default $MESH_DEVICE, else 1x1)")
    parser.add_argument("--model", default=None, help="checkpoint directory (default $HF_MODEL, else the tiny model)")
    parser.add_argument("--backend", choices=("auto", "ttnn", "emulated"), default="auto")
    parser.add_argument("--precision", default=None, help="precision preset (default, bf8_experts)")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=True,
                        help="decode under metal trace capture (default on)")


def _prompts(args) -> tuple[str, ...]:
    prompts = list(args.prompt)
    if args.prompts is not None:
        try:
            lines = args.prompts.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise UserError(f"--prompts {str(args.prompts)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--prompts {str(args.prompts)!r} cannot be read ({exc})") from None
        prompts += [line for line in lines if line.strip()]
    if not prompts:
        raise UserError("no prompt given; pass --prompt TEXT (repeatable) or --prompts FILE")
    return tuple(prompts)


def run(args: argparse.Namespace) -> int:
    from bench.generate import GenerateRequest, generate, performance_block
    from tt_model.mesh import parse_mesh

    prompts = _prompts(args)
    mesh = str(parse_mesh(args.mesh))
    request = GenerateRequest(prompts=prompts, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_p=args.top_p, seed=args.seed, mesh=mesh, model=args.model, backend=args.backend,
                              precision=args.precision, trace=args.trace)
    single = len(prompts) == 1

    def emit(user: int, text: str) -> None:
        # one prompt streams inline; a batch streams one tagged line per user and step
        sys.stdout.write(text if single else f"[{user}] {text}\n")
        sys.stdout.flush()

    if single:
        sys.stdout.write(prompts[0])
        sys.stdout.flush()
    result = generate(request, emit)
    print()
    if not single:
        for user, (prompt, text) in enumerate(zip(prompts, result.texts)):
            print(f"--- [{user}] {prompt}\n{text}")
    print("\n".join(performance_block(result, len(prompts))))
    return 0
