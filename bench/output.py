"""Printing results to stdout so that a closed pipe (``gptoss-bench accuracy | head -1``) ends the
printing, not the run: the exit code still says whether thresholds held."""

from __future__ import annotations

import os
import sys

_closed = False


def emit(text, markup: bool = False) -> None:
    """One block of output; with ``markup``, rich markup or any rich renderable (colour is dropped when
    stdout is not a terminal)."""
    global _closed
    if _closed:
        return
    try:
        if markup:
            from rich.console import Console

            Console(highlight=False).print(text)
        else:
            print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _closed = True
        silence_stdout()


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not raise again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
