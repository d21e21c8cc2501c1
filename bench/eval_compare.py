"""Device against reference, task by task, from the two sides' lm-eval results dicts.

Rows per task and lm-eval metric (``acc``, ``acc_norm``, ``exact_match``; ``metric,filter`` when a
filter other than ``none`` made it): each side's ``task_score`` with lm-eval's stderr,
``task_delta`` (device - reference) and ``task_ratio`` (device / reference, inverted for
lower-is-better metrics such as perplexity so that above 1 always means the device did better).
Where both sides logged per-document scores, the delta's stderr is the paired one (the same
documents on both sides) and ``task_disagree`` counts the documents the two sides score differently.

One verdict per leaf task, on its primary metric (the first of its metric_list): tt-inference-server's
rule, device / reference >= 1 - tolerance (for lower-is-better: reference / device). A reference
score of 0 makes the ratio undefined; the rule then reads device >= (1 - tolerance) * 0 and holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import Key, Row, Verdict


@dataclass(frozen=True)
class Score:
    value: float | None
    stderr: float | None


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):  # lm-eval writes "N/A" where it has no stderr
        return None
    return number


def scores(results: dict) -> dict[tuple[str, str], Score]:
    """(task or group, metric name) -> Score; the metric name is lm-eval's, with its filter unless
    the filter is ``none``."""
    out = {}
    for task, entry in results.get("results", {}).items():
        for key, value in entry.items():
            if "," not in key or "_stderr," in key:
                continue
            metric, _, flt = key.partition(",")
            name = metric if flt == "none" else key
            out[(task, name)] = Score(_float(value), _float(entry.get(f"{metric}_stderr,{flt}")))
    return out


def leaf_tasks(results: dict) -> list[str]:
    return list(results.get("configs", {}))


def primary_metric(results: dict, task: str) -> str | None:
    """The metric a task is judged on: the first of its metric_list, under its first filter."""
    config = results["configs"][task]
    metrics = config.get("metric_list") or []
    if not metrics:
        return None
    metric = metrics[0]["metric"]
    metric = metric if isinstance(metric, str) else getattr(metric, "__name__", str(metric))
    filters = config.get("filter_list") or []
    flt = filters[0]["name"] if filters and isinstance(filters[0], dict) else "none"
    return metric if flt == "none" else f"{metric},{flt}"


def higher_is_better(results: dict, task: str, name: str) -> bool:
    return bool(results.get("higher_is_better", {}).get(task, {}).get(name.partition(",")[0], True))


def per_document(results: dict, task: str, name: str) -> dict[int, float]:
    """doc_id -> the document's score on ``name``, from logged samples (empty when not logged)."""
    metric, _, flt = name.partition(",")
    flt = flt or "none"
    return {s["doc_id"]: float(s[metric]) for s in results.get("samples", {}).get(task, [])
            if s.get("filter", "none") == flt and metric in s}


def ratio(device: float, reference: float, higher: bool) -> float | None:
    """Oriented so that > 1 means the device scored better; None when undefined (a zero denominator)."""
    num, den = (device, reference) if higher else (reference, device)
    return num / den if den != 0 else None


def passes(device: float, reference: float, higher: bool, tolerance: float) -> bool:
    # Multiplied out, so a reference (or, lower-is-better, a device) score of 0 needs no ratio.
    if higher:
        return device >= (1 - tolerance) * reference
    return device * (1 - tolerance) <= reference


@dataclass(frozen=True)
class Paired:
    disagree: float
    delta_stderr: float | None


def paired(reference: dict[int, float], device: dict[int, float]) -> Paired | None:
    common = sorted(set(reference) & set(device))
    if not common:
        return None
    diffs = [device[d] - reference[d] for d in common]
    n = len(diffs)
    mean = sum(diffs) / n
    stderr = math.sqrt(sum((x - mean) ** 2 for x in diffs) / (n - 1) / n) if n > 1 else None
    return Paired(sum(1 for x in diffs if x != 0) / n, stderr)


def compare(reference: dict, device: dict, tolerance: float, mesh: str) -> tuple[list[Row], list[Verdict]]:
    ref_scores, dev_scores = scores(reference), scores(device)
    rows: list[Row] = []
    verdicts: list[Verdict] = []
    leaves = set(leaf_tasks(reference))
    for (task, name), ref in ref_scores.items():
        dev = dev_scores.get((task, name), Score(None, None))
        key = dict(mesh=mesh, task=task, task_metric=name)
        higher = higher_is_better(reference, task, name)
        rows += [_score_row("reference", ref, key, higher), _score_row("device", dev, key, higher)]
        pair = paired(per_document(reference, task, name), per_document(device, task, name)) if task in leaves else None
        rows += _difference_rows(ref, dev, higher, pair, key)
        if task in leaves and name == primary_metric(reference, task):
            verdicts.append(verdict(ref, dev, higher, tolerance, key))
    missing = sorted(set(leaves) - {t for t, _ in ref_scores})
    for task in missing:  # a task lm-eval ran but reported no score for
        verdicts.append(Verdict(metric="task_ratio", mesh=mesh, task=task, state="error", threshold=1 - tolerance,
                                message=f"task_ratio {task}: lm-eval reported no score"))
    return rows, verdicts


def _direction(higher: bool) -> dict:
    """Row fields for a value that runs lm-eval's way for its task metric (stated only when lower is better)."""
    return {} if higher else {"higher_is_better": False}


def _score_row(side: str, score: Score, key: dict, higher: bool) -> Row:
    key = {**key, **_direction(higher)}
    if score.value is None:
        return Row(metric="task_score", side=side, **key, status="error", reason=f"{side} reported no score")
    if not math.isfinite(score.value):
        return Row(metric="task_score", side=side, **key, status="nonfinite", reason=f"{side} score is {score.value}")
    return Row(metric="task_score", side=side, **key, value=score.value, stderr=score.stderr)


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _difference_rows(ref: Score, dev: Score, higher: bool, pair: Paired | None, key: dict) -> list[Row]:
    if not _finite(ref.value, dev.value):
        why = "a side's score is missing or non-finite"
        return [Row(metric=m, **key, status="error", reason=why) for m in ("task_delta", "task_ratio")]
    rows = [Row(metric="task_delta", **key, **_direction(higher), value=dev.value - ref.value,
                stderr=pair.delta_stderr if pair else None)]
    r = ratio(dev.value, ref.value, higher)
    rows.append(Row(metric="task_ratio", **key, value=r) if r is not None else
                Row(metric="task_ratio", **key, status="error", reason="ratio undefined: a score of 0 in the denominator"))
    if pair is not None:
        rows.append(Row(metric="task_disagree", **key, value=pair.disagree))
    return rows


def verdict(ref: Score, dev: Score, higher: bool, tolerance: float, key: dict) -> Verdict:
    threshold = 1 - tolerance
    label = f"task_ratio {Key(metric='task_ratio', **key).where()}"
    if ref.value is None or dev.value is None:
        return Verdict(metric="task_ratio", **key, state="error", threshold=threshold, message=f"{label}: no score")
    if not _finite(ref.value, dev.value):
        return Verdict(metric="task_ratio", **key, state="nonfinite", threshold=threshold,
                       message=f"{label}: reference {ref.value}, device {dev.value}")
    r = ratio(dev.value, ref.value, higher)
    ok = passes(dev.value, ref.value, higher, tolerance)
    shown = f"{r:.4f}" if r is not None else "undefined"
    return Verdict(metric="task_ratio", **key, state="pass" if ok else "fail", value=r, threshold=threshold,
                   message=f"{label} {shown} {'>=' if ok else '<'} {threshold:g} "
                           f"(device {dev.value:.4f}, reference {ref.value:.4f})")
