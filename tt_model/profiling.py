"""What the model tells a profiler: scopes around its modules and signposts between phases.

On the emulator a scope names the op records of its block (``decode_3/layer_2/experts``) and a signpost marks the
modelled op trace; on a device the signposts go to tracy (tt-metal's ``tracy.signpost``, which its GPT-OSS demo
places as PREFILL_START / DECODE_START) when tracy is importable, and scopes cost nothing.
"""
from __future__ import annotations

import importlib
from contextlib import nullcontext


def scope(ttnn, name: str):
    if getattr(ttnn, "__emulated__", False):
        from tt_model.emulator.recorder import scope as emulated_scope
        return emulated_scope(name)
    return nullcontext()


def signpost(ttnn, name: str) -> None:
    if getattr(ttnn, "__emulated__", False):
        from tt_model.emulator.recorder import signpost as emulated_signpost
        emulated_signpost(name)
        return
    try:
        tracy = importlib.import_module("tracy")
    except Exception:  # no tracy build on this host: nothing listens for signposts
        return
    tracy.signpost(name)
