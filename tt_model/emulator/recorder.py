"""The scoped op recorder: every op the emulator executes becomes one ``OpRecord`` (plain data: what it read,
wrote and computed, where it ran, under which scope), priced by the Wormhole cost model into a modelled device
time that advances the device clocks (``clock.py``).

    with recording() as log, scope("decode_3"), scope("layer_2/experts"):
        ...                               # log.records: the ops run in this block, each with .scope

Recordings nest and overlap freely (each active one gets every record); with none active an op still advances
the clock but is not kept. Scopes are a stack joined with "/": tt_model names its phases and modules with them.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from .tensor import padded_shape


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as an op sees it on one device: tile-padded shape, dtype and where it lives."""
    shape: tuple[int, ...]          # padded (logical shape rounded up to whole tiles in TILE layout)
    dtype: str                      # DataType name: BFLOAT16, BFLOAT8_B, ...
    layout: str = "TILE"            # TILE or ROW_MAJOR
    buffer: str = "DRAM"            # DRAM or L1
    sharded: bool = False
    logical: tuple[int, ...] | None = None  # the unpadded shape when it differs


@dataclass(frozen=True)
class CclInfo:
    """A collective: how many devices talk, over which topology, and the shard size of one device."""
    kind: str                       # all_gather | reduce_scatter | all_reduce
    group: int                      # devices in one communicating group (1: no traffic)
    topology: str                   # Ring | Linear | ...
    links: int | None = None        # num_links asked for (None: the system's links between neighbours)
    cluster_axis: int | None = None


@dataclass
class OpRecord:
    """One executed op on its devices. Filled by the emulator (or read from a profiler CSV); priced by
    ``tt_model.costmodel``, which reads these fields only."""
    op: str                                  # ttnn name (linear, add, all_reduce, ...) or a profiler OP CODE
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    mesh: tuple[int, int] | None = None      # mesh shape it ran on (None: host only)
    devices: int = 1                         # devices that ran it
    math_fidelity: str | None = None         # LoFi | HiFi2 | HiFi3 | HiFi4 (compute ops)
    program_config: bool = False             # an explicit program config was given
    flops: float = 0.0                       # per device
    dram_bytes: float | None = None          # per device, when not "inputs + outputs in DRAM" (in-place writes)
    ccl: CclInfo | None = None
    cores: int | None = None                 # cores used, when known (profiler CSV); else the model estimates
    scope: str = ""
    traced: bool = False                     # replayed from a trace: no host dispatch
    host: bool = False                       # host <-> device transfer or a metadata-only view: no kernel
    # filled by the clock from the cost model
    kernel_ns: float = 0.0                   # modelled DEVICE KERNEL DURATION
    dispatch_ns: float = 0.0                 # host dispatch gap before it (0 under trace)
    op_class: str = ""
    bound: str = ""                          # DRAM | compute | CCL | latency | host
    est_cores: int = 0

    @property
    def device_ns(self) -> float:
        """The op's share of device time: its kernel plus the dispatch gap before it."""
        return self.kernel_ns + self.dispatch_ns


@dataclass
class Recording:
    records: list[OpRecord] = field(default_factory=list)
    signposts: list[tuple[int, str]] = field(default_factory=list)  # (index of next record, name)

    def signpost(self, name: str) -> None:
        self.signposts.append((len(self.records), name))


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
    """Records one executed op and advances the modelled clock of the devices it ran on."""
    from . import clock

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
        dram_bytes=dram_bytes, ccl=ccl, scope=current_scope(), host=host)
    if not clock.advance(mesh, record):
        from . import trace
        trace.capture_record(mesh, record)
        return record  # captured into a trace: it runs (and is recorded) when the trace is executed
    keep(record)
    return record


def keep(record: OpRecord) -> None:
    """Hands an executed record to every active recording."""
    for log in _recordings():
        log.records.append(record)
