"""Command-line entry point. Thin on purpose: each verb parses its arguments and hands
off to a module that does the work, so everything the CLI can do a script can do too."""

from __future__ import annotations

import argparse
import importlib
import sys

from ground.errors import ThresholdFailure, UserError
from ground.settings import go_offline, quiet_third_party

# verb -> module that defines ``add_arguments(parser)`` and ``run(args) -> int``.
# Modules are imported only for the verb being run: torch and transformers are slow to import.
VERBS: dict[str, tuple[str, str]] = {
    "make-model": ("bench.commands.make_model", "write a GPT-OSS checkpoint in the Hugging Face layout"),
    "reference": ("bench.commands.reference", "run the HF CPU reference and print per-layer captures"),
    "accuracy": ("bench.commands.accuracy", "TT-NN model vs HF reference: per-layer PCC, routing, top-1/top-5"),
    "history": ("bench.commands.history", "list stored accuracy runs (newest first)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 (argparse prints the whole usage)."""

    def error(self, message: str) -> None:  # noqa: D401
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true",
                        help="also show third-party warnings and progress bars (transformers, torch)")
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
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in VERBS:
            raise UserError(f"unknown command {argv[0]!r}; expected one of: {', '.join(VERBS)}")
        args = build_parser().parse_args(argv)
        if args.verb is None:
            build_parser().print_help()
            return 2
        if not args.verbose:
            quiet_third_party()
        return int(_module(args._module).run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ThresholdFailure as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
