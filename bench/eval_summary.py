"""The end-of-eval table: one line per task (its judged metric) and per group aggregate, each side's
score with its stderr, the delta, the ratio and the verdict; within 80 columns."""

from __future__ import annotations

from bench.results import RunResult

WIDTHS = (28, 11, 10, 10, 6, 5, 4)  # task, metric, reference, device, delta, ratio, state: 74 + 6 = 80
RIGHT = (False, False, True, True, True, True, False)
_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "nonfinite": "bold red"}


def score_cell(value: float | None, stderr: float | None) -> str:
    """``0.650±.076``: three decimals, the stderr without its leading zero (fits 10 columns)."""
    if value is None:
        return "-"
    text = f"{value:.3f}" if abs(value) < 100 else f"{value:.4g}"
    if stderr is None:
        return text
    err = f"{stderr:.3f}"
    return f"{text}±{err[1:] if err.startswith('0.') else err}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table_rows(result: RunResult) -> list[tuple[str, ...]]:
    """(task, metric, reference, device, delta, ratio, state) per judged task metric, then per group metric."""
    judged = {(v.task, v.task_metric): v.state for v in result.verdicts if v.metric == "task_ratio"}
    leaves = {v.task for v in result.verdicts if v.metric == "task_ratio"}
    by_key: dict[tuple, dict] = {}
    for row in result.rows:
        if row.task is None:
            continue
        slot = by_key.setdefault((row.task, row.task_metric), {})
        slot[row.metric if row.side is None else f"{row.metric}:{row.side}"] = row
    out = []
    for (task, metric), rows in by_key.items():
        if task in leaves and (task, metric) not in judged:
            continue  # a leaf task's other metrics are in the JSON, not the table
        ref, dev = rows.get("task_score:reference"), rows.get("task_score:device")
        delta, ratio = rows.get("task_delta"), rows.get("task_ratio")
        out.append((task, metric,
                    score_cell(ref.value, ref.stderr) if ref else "-", score_cell(dev.value, dev.stderr) if dev else "-",
                    _signed(delta.value if delta else None), _ratio(ratio.value if ratio else None),
                    judged.get((task, metric), "-")))
    return sorted(out, key=lambda r: r[0] not in leaves)  # lm-eval's task order, groups last


def _cell(text: str, width: int, right: bool) -> str:
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _line(cells, markup: bool) -> str:
    from rich.markup import escape

    parts = [_cell(c, w, r) for c, w, r in zip(cells, WIDTHS, RIGHT)]
    if markup:
        parts = [escape(p) for p in parts]
        style = _STYLE.get(cells[-1])
        if style:
            parts[-1] = f"[{style}]{parts[-1]}[/]"
    return " ".join(parts).rstrip()


def lines(result: RunResult, markup: bool = False) -> list[str]:
    p = result.provenance
    backend = p.backend + (f" {p.ttnn_version}" if p.ttnn_version else "")
    model = p.model_path.rstrip("/").rsplit("/", 1)[-1]
    limit = result.thresholds.get("limit")
    shown_limit = f", limit {limit:g}" if isinstance(limit, (int, float)) else ""
    title = f"eval {p.suite_name} on {p.mesh} ({backend}){shown_limit}"
    rule = (f"model {model} {p.model_identity[:8]}; a task passes when device / reference >= "
            f"{result.thresholds.get('task_ratio_min', 0):g}")
    out = [title[:80], rule[:80], _line(("task", "metric", "reference", "device", "delta", "ratio", "ok?"), False), "-" * 80]
    out += [_line(cells, markup) for cells in table_rows(result)]
    walls = {r.side: r.value for r in result.rows if r.metric == "wall_seconds"}
    clock = " (host time: emulated)" if p.backend == "emulated" else ""
    out.append(f"wall: reference {walls.get('reference', 0):.1f} s, device {walls.get('device', 0):.1f} s{clock}")
    return out
