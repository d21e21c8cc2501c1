"""Command-line entry point. Thin on purpose: each verb parses its arguments and hands
off to a module that does the work, so everything the CLI can do a script can do too."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from pathlib import Path

from bench.output import silence_stdout
from ground.errors import (EXIT_INTERNAL, EXIT_SIGINT, EXIT_SIGPIPE, EXIT_SIGTERM, EXIT_THRESHOLD, EXIT_USER,
                           Terminated, ThresholdFailure, UserError, environment_fault)
from ground.settings import go_offline, quiet_third_party

# verb -> module that defines ``add_arguments(parser)`` and ``run(args) -> int``.
# Modules are imported only for the verb being run: torch and transformers are slow to import.
VERBS: dict[str, tuple[str, str]] = {
    "make-model": ("bench.commands.make_model", "write a GPT-OSS checkpoint in the Hugging Face layout"),
    "reference": ("bench.commands.reference", "run the HF CPU reference and print per-layer captures"),
    "accuracy": ("bench.commands.accuracy", "TT-NN model vs HF reference: per-layer PCC, routing, top-1/top-5"),
    "history": ("bench.commands.history", "list stored runs (newest first)"),
    "compare": ("bench.commands.compare", "two runs side by side, value by value, with the gate's judgement"),
    "gate": ("bench.commands.gate", "judge runs against a baseline for CI: exit 1 on a regression or failure"),
    "report": ("bench.commands.report", "one self-contained HTML page of stored runs, with plots"),
    "eval": ("bench.commands.eval", "lm-eval task scores of the TT-NN model and the HF reference, and their ratio"),
    "perf": ("bench.commands.perf", "TTFT, decode t/s/u and t/s per mesh/batch/ISL/OSL (modelled on the emulator)"),
    "generate": ("bench.commands.generate", "generate text from prompts, streamed, with the performance block"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 (argparse prints the whole usage)."""

    def error(self, message: str) -> None:  # noqa: D401
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true",
                        help="also show third-party warnings and progress bars (transformers, torch)")
    common.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    parser = _Parser(prog="gptoss-bench", description=__doc__)
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for verb, (module_name, help_text) in VERBS.items():
        verb_parser = sub.add_parser(verb, help=help_text, description=help_text, parents=[common])
        verb_parser.set_defaults(_module=module_name)
        _module(module_name).add_arguments(verb_parser)
    return parser


def _module(name: str):
    return importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    go_offline()
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        return _dispatch(argv)
    except UserError as exc:
        return _fail(EXIT_USER, f"error: {exc}")
    except ThresholdFailure as exc:
        return _fail(EXIT_THRESHOLD, f"FAIL: {exc}")
    except Terminated:
        return _fail(EXIT_SIGTERM, "terminated")
    except KeyboardInterrupt:
        return _fail(EXIT_SIGINT, "interrupted")
    except BrokenPipeError:
        # The reader of our stdout went away (`gptoss-bench generate ... | head`): stop quietly, as a
        # program killed by SIGPIPE would (128 + 13). Commands that store results print through
        # bench.output.emit, which never raises this, so their runs land first.
        silence_stdout()
        return EXIT_SIGPIPE
    except OSError as exc:
        fault = environment_fault(exc)
        if fault is not None:
            return _fail(EXIT_USER, f"error: {fault}")
        return _internal(exc, debug)
    except Exception as exc:  # a bug: one line to the user, the traceback to a log
        return _internal(exc, debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if as_program:
            # The work is over and its exit code decided: a Ctrl-C now would only print a traceback from
            # some library's atexit handler during interpreter shutdown.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dispatch(argv: list[str]) -> int:
    if argv and not argv[0].startswith("-") and argv[0] not in VERBS:
        raise UserError(f"unknown command {argv[0]!r}; expected one of: {', '.join(VERBS)}")
    args = build_parser().parse_args(argv)
    if args.verb is None:
        build_parser().print_help()
        return EXIT_USER
    if not args.verbose:
        quiet_third_party()
    return int(_module(args._module).run(args) or 0)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _terminate(signum, frame):
    raise Terminated()


def _fail(code: int, line: str) -> int:
    try:
        print(line, file=sys.stderr)
    except (BrokenPipeError, OSError):
        pass
    return code


def _internal(exc: BaseException, debug: bool) -> int:
    """A bug, not the user's doing: its own exit code, one line, the traceback in a log file."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    if debug:
        print(text, file=sys.stderr, end="")
    log = _crash_log(text)
    where = f"traceback in {log}" if log else "traceback not saved (no writable log directory)"
    return _fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                 f" ({where}; --debug prints it)")


def _crash_log(text: str) -> str | None:
    import tempfile
    import time

    from ground.settings import settings

    try:
        roots = [settings().cache / "logs"]
    except Exception:  # the environment itself may be what failed
        roots = []
    for root in [*roots, Path(tempfile.gettempdir()) / "gptoss-bench-logs"]:
        try:
            root.mkdir(parents=True, exist_ok=True)
            path = root / f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
            path.write_text(text)
            return str(path)
        except OSError:
            continue
    return None


if __name__ == "__main__":
    sys.exit(main())
