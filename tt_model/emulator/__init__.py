"""Host functional emulator of the TT-NN (ttnn 0.81.1) API: numerics, layouts, virtual meshes, trace capture,
the scoped op recorder and the modelled Wormhole device clock.

Use through ``tt_model.backend.get_ttnn("emulated")``; ``api.build()`` returns the module-like namespace.
"""
from .api import build
from .clock import now_ns, use_cost_model
from .mesh import set_shape_only
from .recorder import recording, scope, signpost
from .records import OpRecord, Recording, TensorInfo

__all__ = ["build", "now_ns", "use_cost_model", "set_shape_only", "OpRecord", "Recording", "TensorInfo",
           "recording", "scope", "signpost"]
