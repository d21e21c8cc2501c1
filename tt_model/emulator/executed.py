"""The one path of an op that ran: its ``OpRecord`` is built once, then either captured into the trace its mesh
is capturing (it runs when the trace is executed) or priced on the mesh's modelled clock and handed to every
active recording. Every emulated op ends here (``ops_common.make_output`` and the ops that write in place)."""
from __future__ import annotations

from . import clock, recorder, trace
from .records import CclInfo, OpRecord, TensorInfo
from .tensor import padded_shape


def tensor_info(t) -> TensorInfo:
    """TensorInfo of an emulated ttnn.Tensor (per-device shard)."""
    logical = tuple(int(d) for d in t._shards[0].shape)
    padded = tuple(padded_shape(logical, t._layout))
    mem = t._memory_config
    return TensorInfo(shape=padded, dtype=t._dtype.name, layout=t._layout.name,
                      buffer="L1" if mem.in_l1() else "DRAM",
                      sharded=mem.is_sharded(), logical=logical if logical != padded else None)


def emit(op: str, inputs=(), outputs=(), *, flops: float = 0.0, fidelity=None, program_config: bool = False,
         dram_bytes: float | None = None, ccl: CclInfo | None = None, host: bool = False) -> OpRecord | None:
    """Records one executed op: captured, or priced on the clock of the devices it ran on and kept."""
    ins = [t for t in inputs if hasattr(t, "_shards")]
    outs = [t for t in outputs if hasattr(t, "_shards")]
    first = next((t for t in ins + outs if t._mesh is not None), None)
    if first is None:
        return None  # a host-only conversion: no device, nothing to time
    mesh = first._mesh
    record = OpRecord(
        op=op, inputs=tuple(tensor_info(t) for t in ins), outputs=tuple(tensor_info(t) for t in outs),
        mesh=tuple(mesh.shape), devices=mesh.get_num_devices(),
        math_fidelity=getattr(fidelity, "name", fidelity), program_config=program_config, flops=float(flops),
        dram_bytes=dram_bytes, ccl=ccl, scope=recorder.current_scope(), host=host)
    if mesh.capturing is not None:
        trace.capture_record(mesh, record)  # a real capture delays execution until execute_trace
        return record
    clock.advance(mesh, record)
    recorder.keep(record)
    return record
