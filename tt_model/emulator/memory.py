"""What a Wormhole chip can hold: DRAM per chip, L1 per core and the trace region, accounted per mesh.

Every device tensor alive on a mesh occupies its buffers until it is deallocated or dropped (a real ttnn.Tensor
frees its buffer in its destructor; CPython drops ours at the same point). An allocation that does not fit is
refused with the allocator's message; a captured trace larger than the trace region with the trace's message.
Each chip of a mesh holds the same buffers (the emulator's shards have one shape on every device), so one
account stands for every chip.

Sources (tt-metal):
* L1: ``MEM_L1_SIZE`` = 1464 KiB = 1,499,136 B per Tensix core (``tt_metal/hw/inc/wormhole/dev_mem_map.h``); the
  allocator's L1 banks start at the HAL's unreserved base, ``MEM_MAP_END`` + the 69 KiB kernel-config area
  (``tt_metal/llrt/hal/tt-1xx/wormhole/wh_hal_tensix.cpp``): 99,904 B in the 2025 memory map, leaving 1,399,232 B
  per core, less ``l1_small_size`` (carved from the top). One L1 bank per worker core (8x8 grid).
* DRAM: 12 banks of 1 GiB per chip (``tt_metal/soc_descriptors/wormhole_b0_80_arch.yaml``, dram_bank_size
  1073741824; 6 channels x 2 views), 32 B reserved at each bank's base; ``trace_region_size`` is taken off the
  top of every bank (``tt_metal/impl/allocator/allocator.cpp``: UNRESERVED | DRAM BANK | TRACE REGION).
* Interleaved buffers are split in pages (a tile, or a row in ROW_MAJOR) dealt round-robin over the banks; each
  bank stores ceil(pages / banks) pages, aligned (DRAM 32 B, L1 16 B). Sharded L1 buffers put one shard on each
  core of their grid.
* Refusal: ``tt_metal/impl/allocator/bank_manager.cpp`` "Out of Memory: Not enough space to allocate {} B {}
  buffer across {} banks, where each bank needs to store {} B, but bank size is {} B (allocated: {} B, free: {}
  B, largest free block: {} B)" (the emulator does not fragment: largest free block = free).
* Trace: a trace buffer holds the captured dispatch commands (``tt_metal/impl/dispatch/dispatch.cpp``); the
  region check is ``tt_metal/distributed/mesh_trace.cpp`` "Creating trace buffers of size {}B on MeshDevice {},
  but only {}B is allocated for trace region." ``trace_region_size=0`` (0.81.1) puts trace buffers in ordinary
  DRAM instead. Allocating while a captured trace exists logs (once) ``tt_metal/impl/allocator/allocator.cpp``
  verify_safe_allocation's warning; the emulator counts such allocations, and those still alive when a trace
  replays (they may sit where the trace's freed intermediates were), for the readiness summary.
"""
from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass, field

from .dtypes import ELEMENT_BYTES, TILE_SIZE, Layout, TensorMemoryLayout

L1_BYTES = 1_499_136
L1_UNRESERVED_BASE = 99_904
WORKER_CORES = 64
GRID_X = 8
DRAM_BANKS = 12
DRAM_BANK_BYTES = 1 << 30
DRAM_BANK_RESERVED = 32
DRAM_ALIGNMENT, L1_ALIGNMENT = 32, 16
# Dispatch commands one op adds to a trace (launch message, runtime args of up to 64 cores, go signal): an
# estimate, not a measurement; tt-metal gpt_oss opens its meshes with a 30-100 MB region for ~1,000-op steps.
TRACE_BYTES_PER_OP = 4096
TRACE_PAGE = 4096
BANK_MANAGER = "tt_metal/impl/allocator/bank_manager.cpp"
MESH_TRACE = "tt_metal/distributed/mesh_trace.cpp"
UNSAFE_ALLOCATION = ("Allocating device buffers is unsafe due to the existence of an active trace. These buffers "
                     "may be corrupted once a trace is executed.")


_LOG = logging.getLogger("tt_model.emulator")


def _round(n: float, to: int) -> int:
    return int(math.ceil(n / to) * to)


@dataclass
class Allocation:
    dram_per_bank: int = 0
    l1_per_core: dict[int, int] = field(default_factory=dict)


@dataclass
class DeviceMemory:
    """The buffers alive on (each chip of) a mesh, and the peaks a run reached."""
    mesh_label: str
    l1_small_size: int = 0
    trace_region_size: int = 0
    dram_per_bank: int = 0
    l1: list[int] = field(default_factory=lambda: [0] * WORKER_CORES)
    peak_dram_per_bank: int = 0
    peak_l1_per_core: int = 0
    traces: dict[int, int] = field(default_factory=dict)   # trace id -> bytes
    peak_trace_bytes: int = 0
    unsafe_allocations: int = 0
    unsafe_at_replay: int = 0        # most such buffers still alive when a trace was replayed
    _after_capture: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    _warned: bool = False

    # --- capacities
    @property
    def dram_bank_size(self) -> int:
        return DRAM_BANK_BYTES - DRAM_BANK_RESERVED - self.trace_region_size

    @property
    def l1_bank_size(self) -> int:
        return L1_BYTES - L1_UNRESERVED_BASE - self.l1_small_size

    @property
    def peak_dram_bytes(self) -> int:
        """Per chip: every bank holds the same share of an interleaved buffer."""
        return self.peak_dram_per_bank * DRAM_BANKS

    # --- tensors
    def allocate(self, tensor) -> None:
        need = _footprint(tensor)
        if self.traces:
            self.unsafe_allocations += 1
            self._after_capture.add(tensor)
            if not self._warned:
                self._warned = True
                # once, as tt-metal logs it; at debug level, because only a buffer still alive at a replay can be
                # hit (replayed() warns about those)
                _LOG.debug("%s: %s", self.mesh_label, UNSAFE_ALLOCATION)
        self._take(need, tensor)
        weakref.finalize(tensor, self._give, need)
        tensor._allocation = need

    def release(self, tensor) -> None:
        """ttnn.deallocate: the buffer is freed now; the tensor's finalizer then frees nothing."""
        self._after_capture.discard(tensor)
        need = getattr(tensor, "_allocation", None)
        if need is not None:
            self._give(need)
            need.dram_per_bank, need.l1_per_core = 0, {}

    def _take(self, need: Allocation, tensor) -> None:
        if need.dram_per_bank:
            if self.dram_per_bank + need.dram_per_bank > self.dram_bank_size:
                _out_of_memory("DRAM", need.dram_per_bank, DRAM_BANKS, self.dram_bank_size, self.dram_per_bank)
            self.dram_per_bank += need.dram_per_bank
            self.peak_dram_per_bank = max(self.peak_dram_per_bank, self.dram_per_bank)
        for core, size in need.l1_per_core.items():
            if self.l1[core] + size > self.l1_bank_size:
                _out_of_memory("L1", size, len(need.l1_per_core), self.l1_bank_size, self.l1[core])
        for core, size in need.l1_per_core.items():
            self.l1[core] += size
        if need.l1_per_core:
            self.peak_l1_per_core = max(self.peak_l1_per_core, max(self.l1))

    def _give(self, need: Allocation) -> None:
        self.dram_per_bank -= need.dram_per_bank
        for core, size in need.l1_per_core.items():
            self.l1[core] -= size

    # --- traces
    def replayed(self) -> None:
        """A trace runs: buffers allocated since a capture and still alive may sit where its intermediates
        were, and be overwritten (tt-metal's trace rule). Counted, not refused: the device does not check."""
        alive = len(self._after_capture)
        if alive > self.unsafe_at_replay:
            self.unsafe_at_replay = alive
            _LOG.warning("%s: %d buffers allocated after a trace capture are alive while it replays; %s",
                         self.mesh_label, alive, UNSAFE_ALLOCATION)

    def add_trace(self, trace_id: int, ops: int) -> int:
        """Accounts a captured trace of ``ops`` programs; refuses it as mesh_trace.cpp does when the traces
        alive exceed the region. Returns its size in bytes."""
        size = _round(TRACE_BYTES_PER_OP * ops + TRACE_PAGE, TRACE_PAGE)  # + the end-of-trace command
        if self.trace_region_size > 0:
            if sum(self.traces.values()) + size > self.trace_region_size:
                raise RuntimeError(f"TT_FATAL @ {MESH_TRACE}: Creating trace buffers of size {size}B on MeshDevice "
                                   f"{self.mesh_label}, but only {self.trace_region_size}B is allocated for trace "
                                   "region.")
        else:  # dynamic: the trace buffer is an ordinary interleaved DRAM buffer
            per_bank = _trace_per_bank(size)
            if self.dram_per_bank + per_bank > self.dram_bank_size:
                _out_of_memory("DRAM", per_bank, DRAM_BANKS, self.dram_bank_size, self.dram_per_bank)
            self.dram_per_bank += per_bank
            self.peak_dram_per_bank = max(self.peak_dram_per_bank, self.dram_per_bank)
        self.traces[trace_id] = size
        self.peak_trace_bytes = max(self.peak_trace_bytes, size)
        return size

    def drop_trace(self, trace_id: int) -> None:
        size = self.traces.pop(trace_id, 0)
        if size and self.trace_region_size <= 0:
            self.dram_per_bank -= _trace_per_bank(size)
        if not self.traces:
            self._warned = False  # tt-metal re-arms the warning once every trace is released


def _trace_per_bank(size: int) -> int:
    """A trace buffer in ordinary DRAM (trace_region_size=0): its pages dealt over the banks."""
    return _round(math.ceil(size / TRACE_PAGE / DRAM_BANKS) * TRACE_PAGE, DRAM_ALIGNMENT)


def _out_of_memory(kind: str, per_bank: int, banks: int, bank_size: int, used: int) -> None:
    free = max(0, bank_size - used)
    raise RuntimeError(f"TT_FATAL @ {BANK_MANAGER}: Out of Memory: Not enough space to allocate {per_bank * banks} B "
                       f"{kind} buffer across {banks} banks, where each bank needs to store {per_bank} B, but bank "
                       f"size is {bank_size} B (allocated: {used} B, free: {free} B, largest free block: {free} B)")


def _page_bytes(tensor) -> tuple[int, int]:
    """(pages, bytes per page) of one device's buffer."""
    shape = list(tensor.padded_shape) or [1]
    size = ELEMENT_BYTES[tensor.dtype]
    if tensor.layout == Layout.TILE:
        page = TILE_SIZE * TILE_SIZE * size
        return max(1, math.prod(shape) // (TILE_SIZE * TILE_SIZE)), int(math.ceil(page))
    return max(1, math.prod(shape[:-1])), int(math.ceil(shape[-1] * size))


def _footprint(tensor) -> Allocation:
    mem = tensor.memory_config()
    pages, page = _page_bytes(tensor)
    if not mem.in_l1():
        return Allocation(dram_per_bank=_round(math.ceil(pages / DRAM_BANKS) * page, DRAM_ALIGNMENT))
    if mem.memory_layout == TensorMemoryLayout.INTERLEAVED or mem.shard_spec is None:
        per_core = _round(math.ceil(pages / WORKER_CORES) * page, L1_ALIGNMENT)
        return Allocation(l1_per_core={c: per_core for c in range(WORKER_CORES)})
    spec = mem.shard_spec
    height, width = spec.shape
    if tensor.layout == Layout.TILE:
        height, width = _round(height, TILE_SIZE), _round(width, TILE_SIZE)
    shard = _round(height * width * ELEMENT_BYTES[tensor.dtype], L1_ALIGNMENT)
    cores = {}
    for r in spec.grid.ranges:
        for y in range(r.start.y, r.end.y + 1):
            for x in range(r.start.x, r.end.x + 1):
                cores[y * GRID_X + x] = shard
    return Allocation(l1_per_core=cores)
