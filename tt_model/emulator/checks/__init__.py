"""The device's refusals: the checks a Wormhole running ttnn 0.81.1 makes before it runs an op.

Each check mirrors one TT_FATAL (or a Python-side raise) of tt-metal's sources: the ``validate`` of the op's
device operation (``ttnn/cpp/ttnn/operations/**/device/*``), the op's top-level ``.cpp`` (checks made before a
device op is built) or ttnn's Python code (``ttnn/core.py``). The message keeps the source's wording, so a user
who meets it here can search for it in tt-metal; ``fatal`` prefixes the file it came from, as a real TT_FATAL
prints ``TT_FATAL @ file:line``.

``SOURCES`` maps every checked op to the files its checks come from; README's table of ops is tested against it.
"""
from __future__ import annotations

from collections.abc import Callable

OPS = "ttnn/cpp/ttnn/operations"
SOURCES: dict[str, tuple[str, ...]] = {}


class DeviceRefusal(RuntimeError):
    """A TT_FATAL of a device op (ttnn raises RuntimeError for those; so does this)."""


def fatal(source: str, message: str) -> None:
    raise DeviceRefusal(f"TT_FATAL @ {source}: {message}")


def require(condition: bool, source: str, message: str) -> None:
    if not condition:
        fatal(source, message)


def checks(*ops: str, sources: tuple[str, ...]) -> Callable:
    """Registers the decorated function as the check of ``ops``, citing ``sources``."""
    def register(fn: Callable) -> Callable:
        for op in ops:
            SOURCES[op] = tuple(dict.fromkeys(SOURCES.get(op, ()) + sources))
        return fn
    return register


def dtype_name(dtype) -> str:
    """How tt-metal formats a DataType in its messages (fmt of the enum: ``DataType::BFLOAT16``)."""
    return f"DataType::{dtype.name}"


def layout_name(layout) -> str:
    return f"Layout::{layout.name}"
