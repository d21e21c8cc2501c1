"""The modelled device clock: each emulated chip keeps a clock in nanoseconds that every op it runs advances by
the op's Wormhole cost (``tt_model.costmodel``): its kernel time plus, unless replayed from a trace, the host
dispatch gap before it. A collective first waits for the slowest device of the mesh (it cannot finish before
every participant reached it).

The clock is deterministic: it depends on the op sequence and the cost model only, never on host speed. It counts
whole picoseconds, so the same step costs the same time however late in a run it comes (a float sum would not).
``use_cost_model`` swaps the pricing (e.g. a user's constants file); the default is the shipped Wormhole model.
"""
from __future__ import annotations

from contextlib import contextmanager

_MODEL = None


def cost_model():
    global _MODEL
    if _MODEL is None:
        from tt_model.costmodel import CostModel
        _MODEL = CostModel.load()
    return _MODEL


@contextmanager
def use_cost_model(model):
    """Prices ops with ``model`` (a ``tt_model.costmodel.CostModel``) inside the block."""
    global _MODEL
    previous, _MODEL = _MODEL, model
    try:
        yield model
    finally:
        _MODEL = previous


def clocks(mesh) -> list[int]:
    """Per device, picoseconds (the mesh's ``clock_ps``)."""
    return mesh.clock_ps


def now_ns(mesh) -> float:
    """The modelled time at which every device of the mesh is done (what synchronize_device waits for)."""
    return max(clocks(mesh)) / 1000


def advance(mesh, record) -> None:
    """Prices ``record`` (an op that ran, or a replayed one) and advances the clocks of ``mesh``."""
    record.traced = mesh.replaying
    if record.host:
        record.bound = "host"
        return
    cost = cost_model().price(record)
    record.kernel_ns, record.op_class, record.bound, record.est_cores = cost.kernel_ns, cost.op_class, cost.bound, cost.cores
    record.dispatch_ns = 0.0 if record.traced else cost.dispatch_ns
    device_clocks = clocks(mesh)
    if record.ccl is not None and record.ccl.group > 1:
        start = max(device_clocks)
        for i in range(len(device_clocks)):
            device_clocks[i] = start
    step = round((record.dispatch_ns + record.kernel_ns) * 1000)
    for i in range(len(device_clocks)):
        device_clocks[i] += step
