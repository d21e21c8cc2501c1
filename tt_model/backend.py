"""The one switch between real TT-NN and the host emulator.

``get_ttnn("auto")`` returns the real ``ttnn`` module when it imports AND a device opens (probed once per process),
else the emulator; ``GPTOSS_BENCH_BACKEND`` (auto | ttnn | emulated) overrides "auto". The result is used exactly like
``import ttnn``.
"""
from __future__ import annotations

import functools
import importlib
import types

from ground.errors import UserError
from ground.settings import settings

BACKENDS = ("auto", "ttnn", "emulated")
_EMULATED: types.ModuleType | None = None


def _emulated() -> types.ModuleType:
    global _EMULATED
    if _EMULATED is None:
        from tt_model.emulator import build
        _EMULATED = build()
    return _EMULATED


def _import_real():
    try:
        return importlib.import_module("ttnn")
    except Exception:  # ImportError, or a broken wheel failing at import time
        return None


@functools.cache  # probing opens and closes a device: once per process, not on every "auto" resolution
def _device_opens(ttnn) -> bool:
    try:
        device = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    except Exception:  # no chips detected, firmware missing, ...
        return False
    try:
        ttnn.close_mesh_device(device)
    except Exception:
        pass
    return True


def get_ttnn(name: str = "auto"):
    if name == "auto":
        name = settings().backend
    if name not in BACKENDS:
        raise UserError(f"backend {name!r} is not known; expected one of {', '.join(BACKENDS)}")
    if name == "emulated":
        return _emulated()
    real = _import_real()
    if name == "ttnn":
        if real is None:
            raise UserError("backend 'ttnn' requested but the ttnn package is not installed "
                            "(pip install 'gptoss-bench[tt]' on Python 3.10/3.12), or use --backend emulated")
        return real
    return real if real is not None and _device_opens(real) else _emulated()


def backend_info(ttnn) -> dict:
    if getattr(ttnn, "__emulated__", False):
        return {"backend": "emulated", "ttnn_version": None}
    return {"backend": "ttnn", "ttnn_version": getattr(ttnn, "__version__", None)}
