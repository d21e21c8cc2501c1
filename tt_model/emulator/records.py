"""The op record types: plain data shared by the emulator's recorder, the cost model and the profiler CSV reader
(``bench/profiler_csv.py``), which fills them from a hardware run. Imports nothing of the emulator."""
from __future__ import annotations

from dataclasses import dataclass, field


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
