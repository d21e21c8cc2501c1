"""The typed perf point of a results file (``RunResult.points``): one per (mesh, batch, ISL, OSL, timing source).

Field names are fixed (CI scripts and the report read them): ``mesh``, ``batch``, ``isl``, ``osl``, ``timing``
("modelled": the Wormhole cost model's device clock on the emulator; "measured": a real device, or the emulator's
host wall time, which ``clock`` "host" marks and which is never a Wormhole time), ``ttft_ms``, ``decode_ms`` (mean,
p50, p90, p99), ``tokens_per_s_per_user``, ``tokens_per_s``, ``prefill_tokens_per_s``, ``compile_s``,
``pct_of_limit``, ``tier``, ``samples_ms``.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepStats(_Strict):
    mean: float
    p50: float
    p90: float
    p99: float


class CategoryTime(_Strict):
    category: str
    ms: float                       # per decode step (or for the prefill)
    share: float                    # of the phase's device time
    limit_ms: float | None = None   # the category's physical limit
    pct_of_limit: float | None = None


class OpTime(_Strict):
    op: str                         # ttnn op
    category: str
    op_class: str
    count: int                      # calls per phase
    ms: float
    share: float
    bound: str                      # DRAM | compute | CCL | latency | dispatch


class Breakdown(_Strict):
    phase: Literal["prefill", "decode"]
    total_ms: float
    categories: list[CategoryTime]
    top_ops: list[OpTime]
    bound_shares: dict[str, float]  # share of the phase's time by what bounds it (incl. dispatch)
    ops: int                        # device ops per phase
    source: str                     # "modelled op trace" or the profiler CSV it came from


class Readiness(_Strict):
    """Would this point run on the Wormhole mesh it models? The emulator refused every op a device refuses (or
    the run would have stopped); these are the capacities it was held to, at the run's peak."""
    peak_dram_bytes_per_chip: int
    dram_bytes_per_chip: int        # 12 banks of 1 GiB, less the trace region carved from each
    peak_l1_bytes_per_core: int
    l1_bytes_per_core: int          # L1 above the reserved base, less l1_small_size
    trace_bytes: int                # the largest captured decode step's trace buffer
    trace_region_bytes: int         # 0: trace buffers in ordinary DRAM (ttnn 0.81.1)
    ops_per_decode_step: int
    unsafe_allocations: int         # device allocations made while a captured trace was alive
    unsafe_at_replay: int = 0       # of those, the most still alive when a trace replayed (may be overwritten)


class PerfPoint(_Strict):
    mesh: str
    batch: int
    isl: int
    osl: int
    timing: Literal["modelled", "measured"]
    clock: Literal["device", "host"]
    ttft_ms: float                  # prefill time / batch (tt-metal's TTFT)
    first_token_ms: float           # prefill time: the latency until every user has its first token
    decode_ms: StepStats
    tokens_per_s_per_user: float
    tokens_per_s: float
    prefill_tokens_per_s: float
    compile_s: float                # compile run (first prefill + first decode step), timed apart
    compile_prefill_s: float
    compile_decode_s: float
    pct_of_limit: float | None = None          # decode step limit / mean step time x 100
    pct_of_limit_prefill: float | None = None
    tier: str | None = None                    # against tt-inference-server's targets; None for host clocks
    targets: dict | None = None
    limit_decode_ms: float | None = None
    limit_prefill_ms: float | None = None
    samples_ms: list[float]                    # every measured decode step (step 0 of each run excluded)
    prefill_samples_ms: list[float] = []
    repeats: int = 1
    trace: bool = False
    breakdown: list[Breakdown] = []
    readiness: Readiness | None = None          # emulated runs: the device capacities the run was held to
