"""The end-of-run table: one line per metric group at its worst point, within 80 columns.

Groups come from the structured keys: PCC by (phase, threshold group, kind), run-level verdicts
by metric, informational rows (model-level PCC, text top-1, wall times) by metric and side.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.metric_defs import metric
from bench.results import WORST_FIRST, Key, Row, RunResult, Verdict
from bench.thresholds import FIELD_GROUP

WIDTHS = (29, 19, 7, 6, 9, 5)  # check, worst at, value, limit, state, n: 75 + 5 separators = 80
_RANK = {state: i for i, state in enumerate((*WORST_FIRST, "info"))}
_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "nonfinite": "bold red", "skipped": "yellow",
          "info": "dim"}


@dataclass(frozen=True)
class SummaryRow:
    check: str
    where: str       # the point holding the worst value
    value: float | None
    threshold: float | None
    state: str
    count: int       # how many values this line stands for


def group_of(item: Key) -> str:
    if item.metric == "pcc" and item.layer is not None:
        return f"pcc {item.phase} {FIELD_GROUP.get(item.field, item.field)} {item.kind[:3]}"
    if item.metric == "pcc":
        return f"pcc {item.field}"
    return " ".join(str(p) for p in (item.metric, item.corpus, item.side) if p is not None)


def _where(item: Key, one_length: bool) -> str:
    """Location within the group (which already names metric, phase, field group and kind); the
    prefill length only when the run has several."""
    single_field = item.field in FIELD_GROUP and list(FIELD_GROUP.values()).count(FIELD_GROUP[item.field]) == 1
    shown = item.model_copy(update={"kind": None, "corpus": None, "side": None,
                                    "prefill_len": None if one_length else item.prefill_len,
                                    "field": None if single_field or item.layer is None else item.field})
    return shown.where()


def _worse(candidate: SummaryRow, current: SummaryRow, higher_is_better: bool) -> bool:
    if _RANK[candidate.state] != _RANK[current.state]:
        return _RANK[candidate.state] < _RANK[current.state]
    if candidate.value is None or current.value is None:
        return current.value is not None
    return candidate.value < current.value if higher_is_better else candidate.value > current.value


def _fold(items: list[tuple[str, SummaryRow, bool]]) -> list[SummaryRow]:
    rows: dict[str, SummaryRow] = {}
    for group, row, higher in items:
        current = rows.get(group)
        if current is None:
            rows[group] = row
            continue
        worst = row if _worse(row, current, higher) else current
        rows[group] = SummaryRow(**{**worst.__dict__, "count": current.count + 1})
    return list(rows.values())


def _info_rows(rows: list[Row], one_length: bool) -> list[tuple[str, SummaryRow, bool]]:
    items = []
    for row in rows:
        spec = metric(row.metric)
        if spec.group == "info" or (row.metric == "pcc" and row.layer is None):
            items.append((group_of(row), SummaryRow(group_of(row), _where(row, one_length), row.value, None, "info", 1),
                          spec.higher_is_better))
    return items


def summary_rows(result: RunResult) -> list[SummaryRow]:
    one_length = len({r.prefill_len for r in result.rows if r.prefill_len is not None}) <= 1
    verdicts = [(group_of(v), SummaryRow(group_of(v), _where(v, one_length), v.value, v.threshold, v.state, 1),
                 metric(v.metric).higher_is_better) for v in result.verdicts]
    return _fold(verdicts) + _fold(_info_rows(result.rows, one_length))


def failures(result: RunResult) -> list[Verdict]:
    return [v for v in result.verdicts if v.state in ("fail", "error", "nonfinite")]


def _cell(text: str, width: int, right: bool = False) -> str:
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def lines(result: RunResult, markup: bool = False) -> list[str]:
    """The table, each line at most 80 columns; with ``markup`` the state cells carry rich colour tags
    (the other cells escaped), which print at the same width."""
    p = result.provenance
    backend = p.backend + (f" {p.ttnn_version}" if p.ttnn_version else "")
    model = p.model_path.rstrip("/").rsplit("/", 1)[-1]
    title = f"accuracy {p.suite_name} on {p.mesh} ({backend}), model {model} {p.model_identity[:8]}"
    out = [_escape(title[:80], markup), _line(("check", "worst at", "value", "limit", "state", "n"), markup),
           "-" * 80]
    out += [_line((r.check, r.where, _fmt(r.value), _fmt(r.threshold), r.state, str(r.count)), markup)
            for r in summary_rows(result)]
    return out


def _escape(text: str, markup: bool) -> str:
    from rich.markup import escape

    return escape(text) if markup else text


def _line(cells, markup: bool) -> str:
    right = (False, False, True, True, False, True)
    parts = [_cell(c, w, r) for c, w, r in zip(cells, WIDTHS, right)]
    if markup:
        parts = [_escape(text, True) for text in parts]
        style = _STYLE.get(cells[4])
        if style:
            parts[4] = f"[{style}]{parts[4]}[/]"
    return " ".join(parts).rstrip()
