"""Host functional emulator of the TT-NN (ttnn 0.81.1) API: numerics, layouts, virtual meshes, op log.

Use through ``tt_model.backend.get_ttnn("emulated")``; ``api.build()`` returns the module-like namespace.
"""
from .api import build
from .oplog import OPLOG, enable_op_log

__all__ = ["build", "OPLOG", "enable_op_log"]
