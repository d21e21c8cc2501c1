"""One self-contained HTML page from stored runs: no scripts, fonts, styles or images from anywhere
else (plots are inline SVG, the stylesheet is inline), so it opens from file:// and prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import jinja2

from bench.accuracy_summary import failures
from bench.results import RunResult
from reports import sections


@dataclass
class Verdict:
    passed: bool
    headline: str
    reasons: list[str]


def verdict(runs: list[RunResult], reports, baseline_name: str | None) -> Verdict:
    reasons = [f"{run.kind} {run.run_id}: {v.message or v.state}" for run in runs for v in failures(run)]
    reasons += [f"{r.label}: {r.state} against {rep.baseline}" + (f" ({r.note})" if r.note else "")
                for rep in reports for r in rep.failing()]
    against = f" against {baseline_name}" if baseline_name else ""
    if reasons:
        shown = reasons[:12] + ([f"... and {len(reasons) - 12} more"] if len(reasons) > 12 else [])
        return Verdict(False, f"FAIL{against}: {len(reasons)} check(s) failed", shown)
    checked = sum(len(run.verdicts) for run in runs) + sum(len(rep.rows) for rep in reports)
    return Verdict(True, f"PASS{against}: {checked} checks held", [])


def render(runs: list[RunResult], history: dict[str, list[RunResult]], reports=(), baseline_name: str | None = None,
           title: str | None = None) -> str:
    """``history``: run id -> the stored runs of the same kind, suite and mesh."""
    built = [sections.provenance(runs)]
    built += [sections.accuracy(r) for r in runs if r.kind == "accuracy"] or [
        sections.Section("accuracy", "Accuracy", empty="no accuracy run in this report (run gptoss-bench accuracy)")]
    built.append(sections.tasks([r for r in runs if r.kind == "eval"]))
    built.append(sections.speed([r for r in runs if r.kind == "perf"]))
    built += [sections.history(r, history.get(r.run_id, [])) for r in runs]
    if reports or baseline_name:
        built.append(sections.comparison(list(reports)))
    for i, section in enumerate(built):  # anchors stay unique when a kind appears twice
        if any(s.anchor == section.anchor for s in built[:i]):
            section.anchor = f"{section.anchor}-{i}"
    env = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    suites = sorted({r.provenance.suite_name for r in runs})
    return env.get_template("report.html.j2").render(
        title=title or f"gptoss-bench report: {', '.join(suites)}", sections=built,
        verdict=verdict(runs, list(reports), baseline_name),
        rendered=datetime.now(timezone.utc).isoformat(timespec="seconds"))
