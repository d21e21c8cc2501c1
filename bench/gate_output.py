"""The gate's table in the forms CI systems read: terminal text, JUnit XML, Markdown, JSON."""

from __future__ import annotations

import json
import math
from xml.etree import ElementTree as ET

from bench.gate import Comparison, Report

STATE_MARK = {"failed": "FAILED", "regressed": "REGRESSED", "not comparable": "NOT COMPARABLE", "improved": "improved",
              "unchanged": "unchanged"}


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def _change(row: Comparison) -> str:
    if row.ratio is not None:
        text = f"x{row.ratio:.3f}"
    elif row.delta is not None:
        text = f"{row.delta:+.4f}"
    else:
        return "-"
    return text + (f" p={row.p_value:.3g}" if row.p_value is not None else "")


def text(report: Report) -> list[str]:
    """Lines of the terminal table, regressions first (rows arrive sorted)."""
    out = [f"baseline  {report.baseline}", f"candidate {report.candidate}"]
    label = min(60, max([len("metric"), *(len(r.label) for r in report.rows)]))
    widths = (label, 10, 10, 16, 15)
    header = ("metric", "baseline", "candidate", "change", "state")
    out.append(" ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for r in report.rows:
        cells = (r.label[:label], _num(r.baseline), _num(r.candidate), _change(r), r.state)
        line = " ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
        out.append(line + (f"  ({r.note})" if r.note and r.state != "unchanged" else ""))
    return out


def junit(reports: list[Report], allow_incomparable: bool) -> str:
    """One testcase per compared value; failures carry the message a CI page shows."""
    suites = ET.Element("testsuites", name="gptoss-bench gate")
    for report in reports:
        failing = report.failing(allow_incomparable)
        suite = ET.SubElement(suites, "testsuite", name=report.candidate, tests=str(len(report.rows)),
                              failures=str(len(failing)))
        for r in report.rows:
            case = ET.SubElement(suite, "testcase", classname=f"gptoss_bench.{r.metric}", name=r.label)
            if r in failing:
                failure = ET.SubElement(case, "failure", message=_message(r), type=r.state)
                failure.text = _message(r)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _message(r: Comparison) -> str:
    return (f"{r.label}: {r.state} (baseline {_num(r.baseline)}, candidate {_num(r.candidate)}, "
            f"change {_change(r)}){'; ' + r.note if r.note else ''}")


def markdown(reports: list[Report], allow_incomparable: bool) -> str:
    lines = ["## gptoss-bench gate", ""]
    for report in reports:
        failing = report.failing(allow_incomparable)
        verdict = "FAIL" if failing else "PASS"
        lines += [f"### {verdict}: {report.candidate} vs {report.baseline}", "",
                  "| metric | baseline | candidate | change | state | note |", "|---|---|---|---|---|---|"]
        for r in report.rows:
            state = f"**{STATE_MARK[r.state]}**" if r in failing else STATE_MARK[r.state]
            lines.append(f"| {r.label} | {_num(r.baseline)} | {_num(r.candidate)} | {_change(r)} | {state} | "
                         f"{r.note.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def as_json(reports: list[Report], allow_incomparable: bool) -> str:
    def row(r: Comparison) -> dict:
        return {"label": r.label, "metric": r.metric, "baseline": r.baseline, "candidate": r.candidate,
                "delta": r.delta, "ratio": r.ratio, "p_value": r.p_value, "state": r.state, "note": r.note,
                "fields": r.fields}

    return json.dumps([{"baseline": rep.baseline, "candidate": rep.candidate, "comparable": rep.comparable,
                        "why_not": rep.why_not, "failing": len(rep.failing(allow_incomparable)),
                        "rows": [row(r) for r in rep.rows]} for rep in reports], indent=1)
