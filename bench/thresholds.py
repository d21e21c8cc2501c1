"""A suite's absolute thresholds applied to a run's rows: one verdict per gated value.

Which rows a threshold gates is declared in ``RULES``/``PCC_FIELDS``; which way is better comes
from ``bench.metric_defs``. A value that is missing, non-finite or not computable never passes.
"""

from __future__ import annotations

import math

from bench.metric_defs import metric
from bench.results import Key, Row, Verdict

# suite threshold key (bench.suite.PhasePcc) -> capture fields it gates
PCC_FIELDS: dict[str, tuple[str, ...]] = {
    "layer_out": ("layer_out",),
    "attention": ("attn_out",),
    "router_logits": ("router_logits",),
    "moe_out": ("moe_out",),
    "norms": ("attn_norm", "mlp_norm"),
}
FIELD_GROUP = {field: group for group, fields in PCC_FIELDS.items() for field in fields}

# Run-level metrics gated on their mean over rows: metric -> (rows it averages, thresholds attribute path).
# Routing is judged on the accumulated run, the device model as a user runs it.
RULES: dict[str, tuple[dict, str]] = {
    "routing_exact": ({"kind": "accumulated"}, "routing.exact_min"),
    "routing_overlap": ({"kind": "accumulated"}, "routing.overlap_min"),
    "top1": ({}, "top1_min"),
    "top5": ({}, "top5_min"),
    "kl": ({}, "kl_max"),
}


def check(key: Key, value: float | None, threshold: float, status: str = "ok", reason: str = "") -> Verdict:
    label = f"{key.metric} {key.where()}".strip()
    fields = key.key()
    if status == "error":
        return Verdict(**fields, state="error", threshold=threshold, message=f"{label}: {reason or 'not computed'}")
    if status == "nonfinite" or (value is not None and not math.isfinite(value)):
        return Verdict(**fields, state="nonfinite", threshold=threshold, message=f"{label}: {reason or 'non-finite value'}")
    if value is None:
        return Verdict(**fields, state="skipped", threshold=threshold, message=f"{label}: no data")
    spec = metric(key.metric)
    ok = value >= threshold if spec.higher_is_better else value <= threshold
    op = {(True, True): ">=", (True, False): "<", (False, True): "<=", (False, False): ">"}[(spec.higher_is_better, ok)]
    return Verdict(**fields, state="pass" if ok else "fail", value=value, threshold=threshold,
                   message=f"{label} {value:.4f} {op} {threshold:g}")


def _limit(thresholds, path: str) -> float:
    value = thresholds
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _pcc_verdicts(rows: list[Row], thresholds) -> list[Verdict]:
    verdicts = []
    for row in rows:
        if row.metric != "pcc" or row.layer is None or row.field not in FIELD_GROUP:
            continue
        limits = thresholds.layer_pcc.prefill if row.phase == "prefill" else thresholds.layer_pcc.decode
        limit = getattr(limits, FIELD_GROUP[row.field])
        if limit is not None:
            verdicts.append(check(row, row.value, limit, row.status, row.reason))
    return verdicts


def _mean_verdict(rows: list[Row], name: str, where: dict, limit: float, mesh: str | None) -> Verdict:
    chosen = [r for r in rows if r.metric == name and all(getattr(r, k) == v for k, v in where.items())]
    bad = [r for r in chosen if r.status != "ok" or r.value is None or not math.isfinite(r.value)]
    key = Key(metric=name, mesh=mesh)
    if bad:
        return check(key, None, limit, "nonfinite", f"{len(bad)} of {len(chosen)} values non-finite or missing")
    mean = sum(r.value for r in chosen) / len(chosen) if chosen else None
    return check(key, mean, limit)


def evaluate(rows: list[Row], thresholds, mesh: str | None = None) -> list[Verdict]:
    """``thresholds`` is a ``bench.suite.Thresholds``. Failing messages name the value against its
    limit, e.g. ``pcc prefill@32 L3 layer_out 0.8712 < 0.88``."""
    verdicts = _pcc_verdicts(rows, thresholds)
    for name, (where, path) in RULES.items():
        verdicts.append(_mean_verdict(rows, name, where, _limit(thresholds, path), mesh))
    return verdicts
