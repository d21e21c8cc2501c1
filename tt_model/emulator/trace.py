"""Metal trace capture and replay, and host synchronisation (ttnn 0.81.1 names and keywords).

As on a device (tt-metal ``BeginTraceCapture``: "programs pushed into the trace queue will have their execution
delayed until the trace is ... enqueued"; ``ttnn.is_trace_capture_active``: "Operations that synchronize with host
(event recording, reads, writes) are not supported while a trace is being captured"):

* between ``begin_trace_capture`` and ``end_trace_capture`` every op is captured, not executed on the modelled
  clock; the emulator still computes its result so later ops see tensors of the right shapes;
* host reads and writes of device tensors during a capture raise (``check_host_access``);
* ``execute_trace`` replays the captured ops on the same tensors: each op runs again on the current contents of
  its inputs (e.g. after ``copy_host_to_device_tensor``) and its result is written into the very tensors the
  capture returned, so holders of those tensors see the new values. Replayed ops cost their kernel time only:
  a trace has no per-op host dispatch;
* ``release_trace`` frees it; executing a released or unknown trace raises.
"""
from __future__ import annotations

import itertools
from contextlib import nullcontext
from dataclasses import dataclass, field

from . import clock, recorder

_IDS = itertools.count(1)


class MeshTraceId(int):
    """ttnn.MeshTraceId: an opaque id returned by begin_trace_capture."""

    def __repr__(self) -> str:
        return f"MeshTraceId({int(self)})"


@dataclass
class _Trace:
    base_scope: str = ""                       # recorder scope when the capture began
    calls: list = field(default_factory=list)  # (op callable, args, kwargs, result, scope below base_scope)
    records: list = field(default_factory=list)  # (OpRecord as captured, scope below base_scope)
    complete: bool = False
    bytes: int = 0                             # trace buffer size (memory.add_trace)

    def inner(self, scope: str) -> str:
        return scope[len(self.base_scope):].lstrip("/") if scope.startswith(self.base_scope) else scope


def capturing(mesh) -> bool:
    return mesh.capturing is not None


def replaying(mesh) -> bool:
    return mesh.replaying


def _mesh_of(value):
    mesh = getattr(value, "_mesh", None)
    if mesh is None and isinstance(value, (list, tuple)):
        mesh = next((getattr(v, "_mesh", None) for v in value if getattr(v, "_mesh", None) is not None), None)
    return mesh


def capture_call(op, args, kwargs, result) -> None:
    """Called by every exported op (``dispatch.wrap``) after it ran: keeps it for replay when its mesh captures."""
    for value in itertools.chain(args, kwargs.values(), result if isinstance(result, (tuple, list)) else (result,)):
        mesh = _mesh_of(value)
        if mesh is None:
            continue
        if mesh.capturing is not None:
            trace = mesh.traces[int(mesh.capturing)]
            trace.calls.append((op, args, kwargs, result, trace.inner(recorder.current_scope())))
        return


def capture_record(mesh, record) -> None:
    """The record of an op captured (not executed) on ``mesh``: kept to price its replays."""
    trace = mesh.traces[int(mesh.capturing)]
    trace.records.append((record, trace.inner(record.scope)))


def check_host_access(tensor_or_mesh, what: str) -> None:
    """Raises for a host read/write of a device tensor while its mesh captures a trace."""
    mesh = getattr(tensor_or_mesh, "_mesh", tensor_or_mesh)
    if mesh is not None and getattr(mesh, "capturing", None) is not None:
        raise RuntimeError(f"TT_FATAL: {what} is not supported while a trace is being captured "
                           "(reads and writes synchronize with the host)")


def begin_trace_capture(mesh_device, *, cq_id=None) -> MeshTraceId:
    if mesh_device.capturing is not None:
        raise RuntimeError("TT_FATAL: a trace is already being captured on this command queue")
    trace_id = MeshTraceId(next(_IDS))
    mesh_device.traces[int(trace_id)] = _Trace(recorder.current_scope())
    mesh_device.capturing = trace_id
    return trace_id


def end_trace_capture(mesh_device, trace_id, *, cq_id=None) -> None:
    """Ends the capture and sizes its trace buffer: refused (and dropped) when the traces alive outgrow
    ``trace_region_size``; with ``trace_region_size=0`` the buffer comes from ordinary DRAM (memory.py)."""
    captured = mesh_device.capturing
    if captured is None or int(captured) != int(trace_id):
        raise RuntimeError(f"TT_FATAL: trace {int(trace_id)} is not being captured on this device")
    mesh_device.capturing = None
    trace = mesh_device.traces[int(trace_id)]
    programs = sum(1 for record, _ in trace.records if not record.host)
    try:
        trace.bytes = mesh_device.memory.add_trace(int(trace_id), programs)
    except RuntimeError:
        del mesh_device.traces[int(trace_id)]
        raise
    trace.complete = True


def execute_trace(mesh_device, trace_id, *, cq_id=None, blocking=True) -> None:
    trace = mesh_device.traces.get(int(trace_id))
    if trace is None or not trace.complete:
        raise RuntimeError(f"TT_FATAL: trace {int(trace_id)} does not exist (released, or never captured)")
    mesh_device.memory.replayed()
    mesh_device.replaying = True
    try:
        if mesh_device.shape_only:
            _replay_records(mesh_device, trace)  # no values to recompute: only the clock and the records move
            return
        for op, args, kwargs, result, inner in trace.calls:
            # replayed ops keep the module scopes they were captured under, below the scope of this replay
            with recorder.scope(inner) if inner else nullcontext():
                _adopt(result, op(*args, **kwargs))
    finally:
        mesh_device.replaying = False


def _replay_records(mesh, trace) -> None:
    from dataclasses import replace

    here = recorder.current_scope()
    for record, inner in trace.records:
        again = replace(record, scope="/".join(p for p in (here, inner) if p))
        clock.advance(mesh, again)
        recorder.keep(again)


def release_trace(mesh_device, trace_id) -> None:
    if mesh_device.traces.pop(int(trace_id), None) is None:
        raise RuntimeError(f"TT_FATAL: trace {int(trace_id)} does not exist")
    mesh_device.memory.drop_trace(int(trace_id))


def is_trace_capture_active(device) -> bool:
    return capturing(device)


def synchronize_device(device, cq_id=None, sub_device_ids=[]) -> None:
    """Waits for every queued op: the emulator runs ops synchronously, so only a capture in progress is an
    error (synchronising with the host during a capture is not supported)."""
    check_host_access(device, "synchronize_device")


def _adopt(old, new) -> None:
    """Writes a replayed result into the tensors the capture handed out."""
    if isinstance(old, (tuple, list)):
        for o, n in zip(old, new):
            _adopt(o, n)
    elif hasattr(old, "_shards") and old is not new:
        old._replace_shards(new._shards)
