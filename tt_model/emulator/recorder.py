"""The scoped op recorder: the recordings and scopes an executed ``OpRecord`` (``records.py``, made and priced by
``executed.py``) is handed to.

    with recording() as log, scope("decode_3"), scope("layer_2/experts"):
        ...                               # log.records: the ops run in this block, each with .scope

Recordings nest and overlap freely (each active one gets every record); with none active an op still advances
the clock but is not kept. Scopes are a stack joined with "/": tt_model names its phases and modules with them.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from .records import CclInfo, OpRecord, Recording, TensorInfo

__all__ = ["CclInfo", "OpRecord", "Recording", "TensorInfo", "recording", "scope", "signpost", "keep"]


_STATE = threading.local()


def _scopes() -> list[str]:
    if not hasattr(_STATE, "scopes"):
        _STATE.scopes, _STATE.recordings = [], []
    return _STATE.scopes


def _recordings() -> list[Recording]:
    _scopes()
    return _STATE.recordings


@contextmanager
def recording():
    """Collects every op executed inside the block (nested recordings each get every record)."""
    log = Recording()
    active = _recordings()
    active.append(log)
    try:
        yield log
    finally:
        active.remove(log)


@contextmanager
def scope(name: str):
    """Names the ops of the block: records carry the scope stack joined with '/'."""
    stack = _scopes()
    stack.append(str(name))
    try:
        yield
    finally:
        stack.pop()


def current_scope() -> str:
    return "/".join(_scopes())


def signpost(name: str) -> None:
    """A marker between ops (tracy's signpost): PREFILL_START, DECODE_START ... in every active recording."""
    for log in _recordings():
        log.signpost(name)


def keep(record: OpRecord) -> None:
    """Hands an executed record to every active recording."""
    for log in _recordings():
        log.records.append(record)
