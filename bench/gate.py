"""Comparing a candidate run with a baseline, value by value, and the gate's verdict.

What is compared comes from the results' structured keys and the metric table (bench.metric_defs):
for accuracy runs the run-level verdicts and the worst PCC of every (phase, threshold group, kind),
for speed and task runs every row. How a change is judged is declared once per metric group:

* accuracy: a drop beyond an absolute tolerance in the worse direction regresses; a value the
  suite's own thresholds fail is "failed" whatever the baseline said;
* task scores: a drop beyond max(tolerance, 2 x stderr);
* speed: a ratio beyond a factor (1.10) in the worse direction, and where both sides kept raw
  samples of a measured time, a Mann-Whitney U test (p < 0.01), as asv does; modelled times are
  deterministic, so the factor alone decides. Faster beyond the factor is "improved", with a
  note to update the baseline (tt-metal's two-sided perf check). Emulator host wall times
  (clock "host") are not gated: they measure the CI machine, not the model.

Runs of another model, mesh, backend, timing source, kind or schema are "not comparable".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from bench.metric_defs import metric
from bench.results import RunResult, worst_verdict

State = Literal["improved", "regressed", "unchanged", "failed", "not comparable"]
FAILING: tuple[str, ...] = ("regressed", "failed", "not comparable")
ORDER = {"failed": 0, "regressed": 1, "not comparable": 2, "improved": 3, "unchanged": 4}


@dataclass(frozen=True)
class DropRule:
    """accuracy: worse by more than ``tolerance`` (absolute) regresses."""
    tolerance: float = 0.01


@dataclass(frozen=True)
class StderrRule:
    """task scores: worse by more than max(tolerance, k x stderr) regresses."""
    tolerance: float = 0.02
    k: float = 2.0


@dataclass(frozen=True)
class RatioRule:
    """speed: worse by more than ``factor`` (and significant where raw measured samples exist)."""
    factor: float = 1.10
    alpha: float = 0.01
    min_samples: int = 3


@dataclass(frozen=True)
class Rules:
    accuracy: DropRule = DropRule()
    task: StderrRule = StderrRule()
    speed: RatioRule = RatioRule()


@dataclass(frozen=True)
class Measure:
    """One comparable value of a run: what it is (``ident`` pairs it with its twin), its number and
    what its own thresholds said of it."""
    ident: tuple
    label: str
    metric: str
    value: float | None
    stderr: float | None = None
    samples: tuple[float, ...] | None = None
    timing: str | None = None
    state: str | None = None  # the run's own verdict (pass / fail / nonfinite ...), when it has one
    fields: dict = field(default_factory=dict)
    higher_is_better: bool | None = None  # None: the metric's declared direction

    def better_is_higher(self) -> bool:
        return metric(self.metric).higher_is_better if self.higher_is_better is None else self.higher_is_better


@dataclass(frozen=True)
class Comparison:
    label: str
    metric: str
    baseline: float | None
    candidate: float | None
    state: State
    delta: float | None = None
    ratio: float | None = None
    p_value: float | None = None
    note: str = ""
    fields: dict = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.state in FAILING


@dataclass
class Report:
    baseline: str
    candidate: str
    comparable: bool
    why_not: list[str]
    rows: list[Comparison]

    def failing(self, allow_incomparable: bool = False) -> list[Comparison]:
        return [r for r in self.rows if r.failing and not (allow_incomparable and r.state == "not comparable")]


# ----------------------------------------------------------------------------- what is compared


def _pcc_group(v) -> str:
    from bench.thresholds import FIELD_GROUP

    return FIELD_GROUP.get(v.field, v.field)


def measures(result: RunResult) -> list[Measure]:
    if result.kind == "accuracy":
        return _accuracy_measures(result)
    # Host wall time of the emulator says nothing about Wormhole speed and moves with the machine CI
    # happens to run on: it is shown, never gated.
    return [_row_measure(r) for r in result.rows if metric(r.metric).group in ("speed", "task") and r.clock != "host"]


def _accuracy_measures(result: RunResult) -> list[Measure]:
    out = [Measure(("run", v.metric), v.metric, v.metric, v.value, state=v.state, fields=v.key())
           for v in result.verdicts if v.layer is None and v.phase is None]
    groups: dict[tuple, list] = {}
    for v in result.verdicts:
        if v.metric == "pcc" and v.layer is not None:
            groups.setdefault((v.phase, _pcc_group(v), v.kind), []).append(v)
    for (phase, group, kind), items in groups.items():
        worst = worst_verdict(items)
        label = f"worst pcc {phase} {group} {kind}"
        out.append(Measure(("pcc", phase, group, kind), label, "pcc", worst.value, state=worst.state,
                           fields={"metric": "pcc", "phase": phase, "group": group, "kind": kind,
                                   "where": worst.where()}))
    return out


def _row_measure(row) -> Measure:
    key = row.key()
    ident = tuple(sorted(key.items()))
    label = f"{row.metric} {row.where()}".strip()
    samples = tuple(row.samples) if row.samples else None
    state = "nonfinite" if row.status != "ok" else None
    return Measure(ident, label, row.metric, row.value, row.stderr, samples, row.timing, state, key,
                   row.higher_is_better)


# ----------------------------------------------------------------------------- comparability


def incomparable(baseline: RunResult, candidate: RunResult) -> list[str]:
    """Why two runs cannot be compared (empty when they can)."""
    pb, pc = baseline.provenance, candidate.provenance
    checks = [("kind", baseline.kind, candidate.kind), ("schema", baseline.schema_version, candidate.schema_version),
              ("model", pb.model_identity, pc.model_identity), ("mesh", pb.mesh, pc.mesh),
              ("backend", pb.backend, pc.backend),
              ("timing", _timings(baseline), _timings(candidate))]
    return [f"{name}: baseline {b} vs candidate {c}" for name, b, c in checks if b != c]


def _timings(result: RunResult) -> str:
    return ",".join(sorted({r.timing for r in result.rows if r.timing is not None})) or "-"


# ----------------------------------------------------------------------------- judging


def compare(baseline: RunResult, candidate: RunResult, rules: Rules = Rules(), baseline_name: str = "baseline",
            candidate_name: str = "candidate") -> Report:
    why = incomparable(baseline, candidate)
    if why:
        row = Comparison("runs", "-", None, None, "not comparable", note="; ".join(why))
        return Report(baseline_name, candidate_name, False, why, [row])
    before = {m.ident: m for m in measures(baseline)}
    rows = []
    for m in measures(candidate):
        b = before.pop(m.ident, None)
        rows.append(_judge(b, m, rules) if b is not None else
                    Comparison(m.label, m.metric, None, m.value, "not comparable", note="not in the baseline",
                               fields=m.fields))
    rows += [Comparison(b.label, b.metric, b.value, None, "not comparable", note="missing from the candidate",
                        fields=b.fields) for b in before.values()]
    rows.sort(key=lambda r: (ORDER[r.state], r.label))
    return Report(baseline_name, candidate_name, True, [], rows)


def _judge(b: Measure, c: Measure, rules: Rules) -> Comparison:
    spec = metric(c.metric)
    base = dict(label=c.label, metric=c.metric, baseline=b.value, candidate=c.value, fields=c.fields)
    if c.state in ("fail", "nonfinite", "error") or c.value is None or not math.isfinite(c.value):
        return Comparison(**base, state="failed", note=f"its own threshold: {c.state or 'no value'}")
    if b.value is None or not math.isfinite(b.value):
        return Comparison(**base, state="not comparable", note="the baseline has no value")
    higher = c.better_is_higher()
    worse = c.value - b.value if not higher else b.value - c.value  # > 0: got worse
    delta = c.value - b.value
    if spec.group == "speed":
        return _judge_speed(b, c, rules.speed, higher, base, delta)
    if spec.group == "task":
        limit = max(rules.task.tolerance, rules.task.k * max(b.stderr or 0.0, c.stderr or 0.0))
        return _by_margin(base, delta, worse, limit, f"allowed {limit:.4f} (max(tolerance, {rules.task.k:g} x stderr))")
    return _by_margin(base, delta, worse, rules.accuracy.tolerance, f"tolerance {rules.accuracy.tolerance:g}")


def _by_margin(base: dict, delta: float, worse: float, limit: float, note: str) -> Comparison:
    state = "regressed" if worse > limit else "improved" if -worse > limit else "unchanged"
    return Comparison(**base, state=state, delta=delta, note=note)


def _judge_speed(b: Measure, c: Measure, rule: RatioRule, higher: bool, base: dict, delta: float) -> Comparison:
    if b.value == 0:
        return Comparison(**base, state="not comparable", delta=delta, note="baseline value is 0")
    ratio = c.value / b.value
    slower = ratio < 1 / rule.factor if higher else ratio > rule.factor
    faster = ratio > rule.factor if higher else ratio < 1 / rule.factor
    p_value = None
    measured = c.timing == "measured" and b.samples and c.samples and min(len(b.samples), len(c.samples)) >= rule.min_samples
    if measured:
        from scipy.stats import mannwhitneyu

        p_value = float(mannwhitneyu(b.samples, c.samples, alternative="two-sided").pvalue)
        if p_value >= rule.alpha:  # not significant: noise, whatever the ratio says
            slower = faster = False
    if slower:
        return Comparison(**base, state="regressed", delta=delta, ratio=ratio, p_value=p_value,
                          note=f"beyond x{rule.factor:g}")
    if faster:
        return Comparison(**base, state="improved", delta=delta, ratio=ratio, p_value=p_value,
                          note=f"beyond x{rule.factor:g}: update the baseline")
    return Comparison(**base, state="unchanged", delta=delta, ratio=ratio, p_value=p_value)
