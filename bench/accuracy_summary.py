"""The end-of-run table: each gated metric at its worst point, with threshold and verdict."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import PCC_FIELDS, RunResult, Verdict

_ORDER = {"error": 0, "fail": 1, "pass": 2, "skipped": 3}


@dataclass(frozen=True)
class SummaryRow:
    metric: str
    where: str       # the layer / phase holding the worst value
    value: float | None
    threshold: float | None
    state: str
    checked: int     # how many values this row stands for


def _pcc_group(verdict: Verdict) -> tuple[str, str] | None:
    """'layer_pcc decode_3 layer 2 moe_out isolated' -> ('layer_pcc decode moe_out isolated', 'decode_3 layer 2')."""
    parts = verdict.metric.split()
    if parts[0] != "layer_pcc" or len(parts) != 6:
        return None
    _, phase, _, layer, field, kind = parts
    group = "prefill" if phase.split("@")[0] == "prefill" else "decode"
    key = next((k for k, fields in PCC_FIELDS.items() if field in fields), field)
    return f"layer_pcc {group} {key} {kind}", f"{phase} layer {layer} {field}"


def _worse(a: SummaryRow, state: str, value: float | None) -> bool:
    if _ORDER[state] != _ORDER[a.state]:
        return _ORDER[state] < _ORDER[a.state]
    return value is not None and (a.value is None or value < a.value)


def summary_rows(result: RunResult) -> list[SummaryRow]:
    rows: dict[str, SummaryRow] = {}
    for v in result.verdicts:
        grouped = _pcc_group(v)
        name, where = grouped if grouped else (v.metric, "")
        current = rows.get(name)
        if current is None:
            rows[name] = SummaryRow(name, where, v.value, v.threshold, v.state, 1)
        elif _worse(current, v.state, v.value):
            rows[name] = SummaryRow(name, where, v.value, v.threshold, v.state, current.checked + 1)
        else:
            rows[name] = SummaryRow(**{**current.__dict__, "checked": current.checked + 1})
    extras = [SummaryRow(s.name, "", s.value, None, "info", 1) for s in result.metrics.scalars]
    return list(rows.values()) + extras


def failures(result: RunResult) -> list[Verdict]:
    return [v for v in result.verdicts if v.state in ("fail", "error")]


def render(result: RunResult):
    from rich.table import Table

    p = result.provenance
    title = (f"accuracy {p.suite_name} on {p.mesh} ({p.backend}"
             f"{' ' + p.ttnn_version if p.ttnn_version else ''}) model {p.model_path}")
    table = Table(title=title, title_justify="left")
    for column in ("metric", "worst at", "value", "threshold", "verdict", "n"):
        table.add_column(column, justify="right" if column in ("value", "threshold", "n") else "left")
    style = {"pass": "green", "fail": "bold red", "error": "bold red", "skipped": "yellow", "info": "dim"}
    for row in summary_rows(result):
        table.add_row(row.metric, row.where, _fmt(row.value), _fmt(row.threshold),
                      f"[{style[row.state]}]{row.state}[/]", str(row.checked))
    return table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
