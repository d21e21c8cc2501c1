"""Terminal output of a perf run: one summary line per point, tt-metal's performance block, the op breakdown."""
from __future__ import annotations

from bench.results import RunResult


def _source(point) -> str:
    if point.timing == "modelled":
        return "modelled (Wormhole cost model)"
    return "measured (emulator host wall time, not a Wormhole time)" if point.clock == "host" else "measured (device)"


def table(result: RunResult) -> list[str]:
    head = (f"{'mesh':<5} {'batch':>5} {'isl/osl':>9} {'timing':<9} {'clock':<6} {'TTFT ms':>9} {'step ms':>9} "
            f"{'t/s/u':>8} {'t/s':>9} {'% limit':>8}  tier")
    lines = [head, "-" * len(head)]
    for p in result.points:
        pct = f"{p.pct_of_limit:7.1f}%" if p.pct_of_limit is not None else f"{'-':>8}"
        lines.append(f"{p.mesh:<5} {p.batch:>5} {f'{p.isl}/{p.osl}':>9} {p.timing:<9} {p.clock:<6} {p.ttft_ms:>9.2f} "
                     f"{p.decode_ms.mean:>9.3f} {p.tokens_per_s_per_user:>8.1f} {p.tokens_per_s:>9.1f} {pct}  "
                     f"{p.tier or '-'}")
    return lines


def performance_block(result: RunResult) -> list[str]:
    """tt-metal's demo block, per point (its format: 'Average decode speed: 35.2ms @ 28.4 tok/s/user ...')."""
    lines = []
    for p in result.points:
        lines += [f"=== Performance Metrics: {p.mesh}, batch {p.batch}, ISL {p.isl}, OSL {p.osl}: {_source(p)} ===",
                  f"Average Time to First Token (TTFT): {p.ttft_ms:.1f}ms",
                  f"Average decode speed: {p.decode_ms.mean:.1f}ms @ {p.tokens_per_s_per_user:.1f} tok/s/user "
                  f"({p.tokens_per_s:.1f} tok/s throughput)",
                  f"Prefill: {p.first_token_ms:.1f}ms for {p.batch} x {p.isl} tokens "
                  f"({p.prefill_tokens_per_s:.0f} tok/s)",
                  f"Compile: prefill {p.compile_prefill_s:.3f}s, decode {p.compile_decode_s:.3f}s",
                  f"Decode step ms: p50 {p.decode_ms.p50:.2f}, p90 {p.decode_ms.p90:.2f}, p99 {p.decode_ms.p99:.2f} "
                  f"({len(p.samples_ms)} samples)"]
        if p.pct_of_limit is not None:
            goal = p.targets or {}
            lines.append(f"Physical limit: decode step {p.limit_decode_ms:.3g}ms ({p.pct_of_limit:.1f} % of it), "
                         f"prefill {p.limit_prefill_ms:.3g}ms ({p.pct_of_limit_prefill:.1f} %); tier {p.tier} "
                         f"against TTFT {goal.get('ttft_ms', 0):.3g}ms / {goal.get('tokens_per_s_per_user', 0):.4g} "
                         f"t/s/u ({goal.get('source', '')})")
        if p.readiness is not None:
            lines.append(_readiness(p.readiness))
        for b in p.breakdown:
            cats = ", ".join(f"{c.category} {c.share:.0%}" for c in b.categories[:6])
            lines.append(f"{b.phase} {b.total_ms:.2f}ms over {b.ops} ops: {cats}")
            tops = ", ".join(f"{o.op}[{o.category}] {o.share:.0%} ({o.bound})" for o in b.top_ops[:5])
            lines.append(f"  top ops: {tops}")
        lines.append("")
    return lines


def _readiness(r) -> str:
    gib, kib = 2**30, 1024
    region = f"{r.trace_region_bytes / 2**20:.0f} MiB region" if r.trace_region_bytes else "DRAM (region 0)"
    unsafe = (f"; {r.unsafe_allocations} allocations while a trace was alive, {r.unsafe_at_replay} of them alive "
              "at a replay (tt-metal: may be corrupted)" if r.unsafe_allocations else "")
    return (f"Device readiness (every op passed the device checks): DRAM {r.peak_dram_bytes_per_chip / gib:.2f} of "
            f"{r.dram_bytes_per_chip / gib:.2f} GiB per chip, L1 {r.peak_l1_bytes_per_core / kib:.0f} of "
            f"{r.l1_bytes_per_core / kib:.0f} KiB per core, trace {r.trace_bytes / 2**20:.1f} MiB in {region}, "
            f"{r.ops_per_decode_step} ops per decode step{unsafe}")
