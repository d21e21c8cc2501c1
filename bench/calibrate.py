"""Calibration of the Wormhole cost model on measured profiler CSVs, and the measured-vs-modelled comparison
``gptoss-bench perf --profile-csv FILE`` writes.

Fit (per op class, over the rows of that class): kernel = L + R / e, R the op's roofline (max of DRAM time and
FLOP time at its fidelity and CORE COUNT). e is searched on a log grid in [0.01, 1]; for each e, L is the
median of (measured - R / e), clipped at 0; the pair with the least mean squared log error wins, with a small
pull towards e = 1 so that a class whose rows all have the same size is explained by latency (the only thing
such data can tell) rather than by an arbitrary efficiency.

    python -m bench.calibrate tests/data/wh_clip_encoder_2.reduced.csv           # print the fit
    python -m bench.calibrate tests/data/wh_clip_encoder_2.reduced.csv --write   # write tt_model/wormhole_costs.yaml
"""
from __future__ import annotations

import argparse
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.perf import quantile
from bench.profiler_csv import ProfilerTrace, read_csv
from tt_model.costmodel import DEFAULTS, CostModel

GRID = [10 ** (-2 + 2 * i / 200) for i in range(201)]
PULL = 0.01             # weight of log(e)^2: prefer latency over inefficiency when the data cannot tell
GATED_ROWS = 50         # classes with at least this many rows are held to the calibration target
# Classes with no rows in the fit data take a measured relative's parameters (see wormhole_costs.yaml).
PROXIES = {"data_movement": "transpose", "kv_cache": "transpose", "reduce": "softmax", "topk": "softmax",
           "sdpa": "matmul_configured", "other": "transpose"}
SOURCE_NAME = "wh_clip_encoder_2.csv (tenstorrent/tt-perf-report tests/data, 1872 ops on one Wormhole)"


@dataclass(frozen=True)
class ClassFit:
    op_class: str
    rows: int
    latency_ns: float
    efficiency: float
    codes: tuple[str, ...]


def rooflines(model: CostModel, trace: ProfilerTrace) -> list[tuple[str, float, float, str]]:
    """(op class, roofline ns, measured ns, op code) per measured op."""
    out = []
    for p in trace.ops:
        if p.measured_ns <= 0:
            continue
        cost = model._price(p.record)
        if cost.op_class == "ccl":
            continue  # CCLs follow the link model, not a fitted class
        out.append((cost.op_class, max(cost.dram_ns, cost.compute_ns), p.measured_ns, p.record.op))
    return out


def fit_class(samples: list[tuple[float, float]]) -> tuple[float, float]:
    best = None
    for e in GRID:
        latency = max(0.0, statistics.median(m - r / e for r, m in samples))
        err = sum(math.log((latency + r / e) / m) ** 2 for r, m in samples) / len(samples)
        loss = err + PULL * math.log(e) ** 2
        if best is None or loss < best[0] - 1e-12:
            best = (loss, latency, e)
    return best[1], best[2]


def fit(trace: ProfilerTrace, model: CostModel | None = None) -> list[ClassFit]:
    model = model or CostModel.load()
    by_class: dict[str, list] = {}
    for cls, roof, measured, code in rooflines(model, trace):
        by_class.setdefault(cls, []).append((roof, measured, code))
    fits = []
    for cls, rows in sorted(by_class.items()):
        latency, efficiency = fit_class([(r, m) for r, m, _ in rows])
        fits.append(ClassFit(cls, len(rows), round(latency, 1), round(efficiency, 4),
                             tuple(sorted({c for _, _, c in rows}))))
    return fits


# ----------------------------------------------------------------------------- measured vs modelled
@dataclass(frozen=True)
class Comparison:
    rows: list[dict]            # op, op_class, device, measured_ns, modelled_ns, ratio
    classes: list[dict]         # op_class, rows, median_ratio, p10_ratio, p90_ratio, measured_ns, modelled_ns
    measured_total_ns: float
    modelled_total_ns: float

    @property
    def total_error(self) -> float:
        return self.modelled_total_ns / self.measured_total_ns - 1.0 if self.measured_total_ns else float("nan")

    def gated(self) -> list[dict]:
        return [c for c in self.classes if c["rows"] >= GATED_ROWS]


def compare(trace: ProfilerTrace, model: CostModel | None = None) -> Comparison:
    """Every measured op priced by the model (kernel time, no dispatch): per op and per class."""
    model = model or CostModel.load()
    rows = []
    for p in trace.ops:
        cost = model._price(p.record)
        rows.append({"op": p.record.op, "op_class": cost.op_class, "device": p.device,
                     "measured_ns": p.measured_ns, "modelled_ns": round(cost.kernel_ns, 1),
                     "ratio": cost.kernel_ns / p.measured_ns if p.measured_ns > 0 else None})
    classes = []
    for cls in sorted({r["op_class"] for r in rows}):
        mine = [r for r in rows if r["op_class"] == cls]
        ratios = [r["ratio"] for r in mine if r["ratio"] is not None]
        classes.append({"op_class": cls, "rows": len(mine),
                        "median_ratio": statistics.median(ratios) if ratios else None,
                        "p10_ratio": quantile(ratios, 0.1) if ratios else None,
                        "p90_ratio": quantile(ratios, 0.9) if ratios else None,
                        "measured_ns": sum(r["measured_ns"] for r in mine),
                        "modelled_ns": sum(r["modelled_ns"] for r in mine)})
    return Comparison(rows, classes, sum(r["measured_ns"] for r in rows), sum(r["modelled_ns"] for r in rows))


# ----------------------------------------------------------------------------- writing the constants file
def _entry(value: float, source: str) -> str:
    return f'{{value: {value}, source: "{source}"}}'


def write_constants(fits: list[ClassFit], path: Path = DEFAULTS) -> None:
    text = path.read_text()
    params = {f.op_class: f for f in fits}
    for f in fits:
        source = f"fitted: {f.rows} {'/'.join(f.codes)} rows of {SOURCE_NAME}"
        text = _set_class(text, f.op_class, _entry(f.latency_ns, source), _entry(f.efficiency, source))
    for cls, proxy in PROXIES.items():
        if proxy in params:
            p = params[proxy]
            text = _set_class(text, cls, _entry(p.latency_ns, f"proxy: {proxy} (no {cls} rows in the fit data)"),
                              _entry(p.efficiency, f"proxy: {proxy}"))
    path.write_text(text)


def _set_class(text: str, cls: str, latency: str, efficiency: str) -> str:
    pattern = re.compile(rf"(\n  {cls}:\n    cores: \w+\n)    latency_ns: .*\n    efficiency: .*\n")
    if not pattern.search(text):
        return text  # a class the constants file does not list (e.g. "other" codes) keeps no fit
    return pattern.sub(lambda m: f"{m.group(1)}    latency_ns: {latency}\n    efficiency: {efficiency}\n", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--write", action="store_true", help=f"write the fit into {DEFAULTS}")
    args = parser.parse_args(argv)
    trace = read_csv(args.csv)
    fits = fit(trace)
    for f in fits:
        print(f"{f.op_class:<18} rows {f.rows:>4}  latency {f.latency_ns / 1e3:8.2f} us  efficiency {f.efficiency:.4f}")
    if args.write:
        write_constants(fits)
        print(f"written: {DEFAULTS}")
    result = compare(trace, CostModel.load())
    for c in result.classes:
        print(f"{c['op_class']:<18} rows {c['rows']:>4}  median modelled/measured {c['median_ratio']:.3f}")
    print(f"total modelled/measured - 1: {result.total_error:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
