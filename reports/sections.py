"""The report's sections, each built from stored results only (rows, verdicts, provenance): a title,
tables (every number a plot shows is also in a table) and figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bench.results import Row, RunResult, worst_verdict
from bench.thresholds import FIELD_GROUP
from reports import plots

MODULES = ("attn_norm", "attn_out", "mlp_norm", "router_logits", "moe_out", "layer_out")


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    classes: list[str] = field(default_factory=list)  # per row: css class (pass/fail ...)


@dataclass
class Section:
    anchor: str
    title: str
    intro: str = ""
    figures: list[plots.Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    empty: str = ""  # said instead, when the section has nothing to show


def num(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.4g}"
    return str(value)


# ----------------------------------------------------------------------------- provenance


def provenance(runs: list[RunResult]) -> Section:
    """One column per run, one row per fact: readable at 1280 px however long the values are."""
    facts = {
        "kind": lambda r, p: r.kind, "run id": lambda r, p: r.run_id, "time (UTC)": lambda r, p: r.time,
        "git commit": lambda r, p: p.git_commit,
        "backend": lambda r, p: p.backend + (f" {p.ttnn_version}" if p.ttnn_version else ""),
        "mesh": lambda r, p: p.mesh, "model": lambda r, p: p.model_path,
        "model identity": lambda r, p: f"{p.model_identity} (config {p.model_config_hash})",
        "suite": lambda r, p: f"{p.suite_name} ({p.suite_hash[:16]})",
        "precision": lambda r, p: ", ".join(f"{k}={v}" for k, v in sorted(p.precision.items())) or "-",
        "host": lambda r, p: p.host,
        "versions": lambda r, p: ", ".join(f"{k} {v}" for k, v in sorted(p.versions.items())) or "-",
    }
    rows = [[name, *(get(r, r.provenance) for r in runs)] for name, get in facts.items()]
    return Section("provenance", "Provenance", "Where every number on this page came from.",
                   tables=[Table("runs in this report", ["", *(f"{r.kind} run" for r in runs)], rows)])


# ----------------------------------------------------------------------------- accuracy


def _worst(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def accuracy(run: RunResult) -> Section:
    pcc = [r for r in run.rows if r.metric == "pcc" and r.layer is not None]
    if not pcc:
        return Section("accuracy", "Accuracy", empty="no layer PCC in this run")
    limits = run.thresholds.get("layer_pcc", {})
    section = Section("accuracy", f"Accuracy: {run.provenance.suite_name} on {run.provenance.mesh}",
                      f"Device model against the HF reference ({run.provenance.backend}). Accumulated: the whole "
                      "device model, each layer's output against the reference's; isolated: each device layer fed "
                      "the reference's input, so one bad layer is told apart from error that grows with depth.")
    section.figures.append(_pcc_plot(pcc, limits))
    section.tables.append(_pcc_table(pcc))
    heat_rows, heat_values = _heatmap(pcc)
    section.figures.append(plots.heatmap(heat_rows, list(MODULES), heat_values, "Worst PCC per layer and module",
                                         "Heatmap of the worst PCC over phases for each layer (rows) and captured "
                                         "module (columns); the values are written in the cells and the table below."))
    section.tables.append(Table("worst PCC per layer and module (accumulated, all phases)", ["layer", *MODULES],
                                [[row, *(num(v) for v in values)] for row, values in zip(heat_rows, heat_values)]))
    routing = _routing(run.rows)
    if routing:
        layers = sorted(routing)
        section.figures.append(plots.grouped_bars(
            [f"L{i}" for i in layers], {"exact set": [routing[i][0] for i in layers],
                                        "overlap": [routing[i][1] for i in layers]},
            "MoE routing agreement per layer (mean over phases)", "fraction", "Bar chart of the share of tokens whose "
            "device expert set equals the reference's, and the mean overlap, per layer.", ylim=(0, 1.05)))
        section.tables.append(Table("routing agreement per layer", ["layer", "exact", "overlap"],
                                    [[str(i), num(routing[i][0]), num(routing[i][1])] for i in layers]))
    segments = _segments(run.rows)
    if segments:
        labels = [f"{c} #{s}" for c, s in segments]
        section.figures.append(plots.grouped_bars(
            labels, {"top-1": [segments[k]["top1"] for k in segments], "top-5": [segments[k]["top5"] for k in segments]},
            "Teacher-forced agreement per 32-token segment", "fraction", "Bar chart of device top-1 agreement with the "
            "reference's top-1 and top-5 for each teacher-forced segment.", ylim=(0, 1.05)))
        section.tables.append(Table("teacher-forced segments", ["source", "segment", "top-1", "top-5", "KL (nats)"],
                                    [[c, str(s), num(v["top1"]), num(v["top5"]), num(v["kl"], 6)]
                                     for (c, s), v in segments.items()]))
    section.tables.append(_verdict_table(run))
    return section


def _pcc_plot(pcc: list[Row], limits: dict) -> plots.Figure:
    series: dict[str, dict[int, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for r in pcc:
        if r.field == "layer_out":
            series[f"{r.phase} {r.kind}"][r.layer].append(r.value)
    lines = {name: [(layer, _worst(vals)) for layer, vals in sorted(by_layer.items()) if _worst(vals) is not None]
             for name, by_layer in sorted(series.items())}
    thresholds = {phase: limits[phase]["layer_out"] for phase in ("prefill", "decode")
                  if phase in limits and limits[phase].get("layer_out") is not None}
    return plots.one_minus_pcc(lines, thresholds, "layer_out PCC per layer (worst over steps)",
                               "Line chart of 1 - PCC of each layer's output on a log scale, for prefill and decode, "
                               "accumulated (solid) and isolated (dashed), with the suite thresholds as dotted lines.")


def _pcc_table(pcc: list[Row]) -> Table:
    cells: dict[tuple, float | None] = {}
    for r in pcc:
        if r.field == "layer_out":
            key = (r.layer, r.phase, r.kind)
            cells[key] = _worst([cells.get(key), r.value]) if key in cells else r.value
    columns = [(p, k) for p in ("prefill", "decode") for k in ("accumulated", "isolated")]
    layers = sorted({layer for layer, _, _ in cells})
    return Table("layer_out PCC per layer (worst over steps)", ["layer", *(f"{p} {k}" for p, k in columns)],
                 [[str(i), *(num(cells.get((i, p, k))) for p, k in columns)] for i in layers])


def _heatmap(pcc: list[Row]) -> tuple[list[str], list[list[float | None]]]:
    cells: dict[tuple[int, str], list[float | None]] = defaultdict(list)
    for r in pcc:
        if r.kind == "accumulated" and r.field in MODULES:
            cells[(r.layer, r.field)].append(r.value)
    layers = sorted({layer for layer, _ in cells})
    return [f"L{i}" for i in layers], [[_worst(cells.get((i, m), [])) for m in MODULES] for i in layers]


def _routing(rows: list[Row]) -> dict[int, tuple[float, float]]:
    acc: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.metric in ("routing_exact", "routing_overlap") and r.value is not None:
            acc[r.layer][r.metric].append(r.value)
    return {layer: (sum(m["routing_exact"]) / len(m["routing_exact"]), sum(m["routing_overlap"]) / len(m["routing_overlap"]))
            for layer, m in acc.items() if m["routing_exact"] and m["routing_overlap"]}


def _segments(rows: list[Row]) -> dict[tuple[str, int], dict[str, float | None]]:
    out: dict[tuple[str, int], dict[str, float | None]] = {}
    for r in rows:
        if r.metric in ("top1", "top5", "kl") and r.segment is not None:
            out.setdefault((r.corpus, r.segment), {})[r.metric] = r.value
    return dict(sorted(out.items()))


def _verdict_table(run: RunResult) -> Table:
    """The run-level verdicts and, per PCC threshold group, its worst verdict."""
    groups: dict[str, list] = {}
    for v in run.verdicts:
        name = v.metric if v.layer is None else f"pcc {v.phase} {FIELD_GROUP.get(v.field, v.field)} {v.kind}"
        groups.setdefault(name, []).append(v)
    rows, classes = [], []
    for name, v in ((name, worst_verdict(items)) for name, items in groups.items()):
        rows.append([name, v.where(), num(v.value), num(v.threshold), v.state])
        classes.append(v.state)
    return Table("verdicts (worst of each group)", ["check", "worst at", "value", "limit", "state"], rows, classes)


# ----------------------------------------------------------------------------- task scores


def tasks(runs: list[RunResult]) -> Section:
    section = Section("tasks", "Task scores", "lm-eval tasks scored on the device model and the reference; a task "
                      "passes when device / reference >= 1 - tolerance.")
    for run in runs:
        scores: dict[tuple[str, str], dict[str, Row]] = defaultdict(dict)
        for r in run.rows:
            if r.task is not None and r.metric in ("task_score", "task_delta", "task_ratio"):
                scores[(r.task, r.task_metric)][r.metric if r.metric != "task_score" else r.side] = r
        verdicts = {(v.task, v.task_metric): v.state for v in run.verdicts if v.task is not None}
        rows, classes = [], []
        for (task, task_metric), got in sorted(scores.items()):
            dev, ref = got.get("device"), got.get("reference")
            state = verdicts.get((task, task_metric), "-")
            rows.append([task, task_metric or "-", num(dev.value if dev else None), num(dev.stderr if dev else None),
                         num(ref.value if ref else None), num(ref.stderr if ref else None),
                         num(got["task_delta"].value if "task_delta" in got else None),
                         num(got["task_ratio"].value if "task_ratio" in got else None), state])
            classes.append(state)
        if rows:
            section.tables.append(Table(f"run {run.run_id}", ["task", "metric", "device", "stderr", "reference", "stderr",
                                                              "delta", "ratio", "verdict"], rows, classes))
            section.figures.append(plots.grouped_bars(
                [r[0].replace("gptoss_", "") for r in rows],
                {"device": [_f(r[2]) for r in rows], "reference": [_f(r[4]) for r in rows]},
                "Task scores, device and reference", "score", "Bar chart of each task's score on the device model and "
                "on the reference; the numbers are in the table above.", ylim=(0, 1.05)))
    if not section.tables:
        section.empty = "no task scores in the runs of this report (run gptoss-bench eval)"
    return section


def _f(text: str) -> float | None:
    return None if text == "-" else float(text)


# ----------------------------------------------------------------------------- speed


# (metric, stat, phase, header): one column of the speed table each
SPEED_COLUMNS = (("ttft_ms", None, None, "TTFT ms"), ("decode_ms", "mean", None, "decode ms"),
                 ("decode_ms", "p99", None, "p99 ms"), ("tokens_per_s_per_user", None, None, "t/s/u"),
                 ("tokens_per_s", None, None, "t/s"), ("prefill_tokens_per_s", None, None, "prefill t/s"),
                 ("pct_of_limit", None, "decode", "% of limit"), ("compile_s", None, None, "compile s"))


def speed(runs: list[RunResult]) -> Section:
    section = Section("speed", "Speed", "Every time names its source: modelled (Wormhole cost model over the "
                      "emulator's op records), measured (a device), or host (emulator wall time, never a Wormhole time).")
    for run in runs:
        points: dict[tuple, dict[tuple, Row]] = defaultdict(dict)
        for r in run.rows:
            if r.batch is not None and r.category is None and r.field is None:
                points[(r.mesh, r.batch, r.isl, r.osl, r.timing, r.clock)][(r.metric, r.stat, r.phase)] = r
        if not points:
            continue
        tiers = {(p.mesh, p.batch, p.isl, p.osl, p.timing, p.clock): p.tier for p in run.points}
        header = ["mesh", "batch", "ISL", "OSL", "timing", *(c[3] for c in SPEED_COLUMNS), "tier"]
        rows = []
        for key, got in sorted(points.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
            mesh, batch, isl, osl, timing, clock = key
            cells = [_cell(got.get((m, s, ph))) for m, s, ph, _ in SPEED_COLUMNS]
            rows.append([mesh, str(batch), str(isl), str(osl), f"{timing} ({clock})", *cells, tiers.get(key) or "-"])
        section.tables.append(Table(f"{run.provenance.suite_name}: run {run.run_id}", header, rows))
        _limit_figure(section, points)
        _breakdown(section, run)
    if not section.tables:
        section.empty = "no speed runs in this report (run gptoss-bench perf)"
    return section


def _cell(row: Row | None) -> str:
    if row is None or row.value is None:
        return "-"
    return num(row.value, 2) if abs(row.value) >= 0.01 else f"{row.value:.3g}"


def _limit_figure(section: Section, points: dict) -> None:
    labels, pct = [], []
    for (mesh, batch, isl, osl, timing, clock), got in sorted(points.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        row = got.get(("pct_of_limit", None, "decode"))
        if row is not None and row.value is not None:
            labels.append(f"{mesh} b{batch} {isl}/{osl} {timing}")
            pct.append(row.value)
    if labels:
        section.figures.append(plots.grouped_bars(
            labels, {"% of the physical limit": pct}, "Decode speed against the physical limit and the tiers",
            "% of limit", "Bar chart of decode speed as a percentage of the physical limit for each configuration, "
            "with tt-inference-server's tiers (functional 10 %, complete 50 %, target 100 %) as dotted lines.",
            hlines={"functional": 10.0, "complete": 50.0, "target": 100.0}))


def _breakdown(section: Section, run: RunResult) -> None:
    shares: dict[str, dict[str, float]] = defaultdict(dict)
    for r in run.rows:
        if r.metric == "op_time_share" and r.category is not None and r.value is not None:
            shares[f"{r.mesh} b{r.batch} {r.isl}/{r.osl} {r.phase or ''}".strip()][r.category] = r.value
    if not shares:
        return
    categories = sorted({c for by in shares.values() for c in by})
    groups = sorted(shares)
    matrix = [[shares[g].get(c, 0.0) for c in categories] for g in groups]
    section.figures.append(plots.stacked_shares(groups, categories, matrix, "Device time by op category",
                                                "Stacked bars of each configuration's device time split by op "
                                                "category; the shares are in the table below."))
    section.tables.append(Table("share of device time by op category", ["configuration", *categories],
                                [[g, *(num(v, 3) for v in row)] for g, row in zip(groups, matrix)]))


# ----------------------------------------------------------------------------- history


def _key_figures(run: RunResult) -> dict[str, float]:
    figures = {v.metric: v.value for v in run.verdicts if v.layer is None and v.phase is None and v.task is None
               and v.value is not None}
    layer_out = [r.value for r in run.rows if r.metric == "pcc" and r.field == "layer_out"
                 and r.kind == "accumulated" and r.value is not None]
    if layer_out:
        figures["worst layer_out pcc"] = min(layer_out)
    for name in ("tokens_per_s_per_user", "ttft_ms"):
        values = [r.value for r in run.rows if r.metric == name and r.value is not None and r.category is None]
        if values:
            figures[name] = values[0]
    ratios = [r.value for r in run.rows if r.metric == "task_ratio" and r.value is not None]
    if ratios:
        figures["mean task ratio"] = sum(ratios) / len(ratios)
    return figures


def history(run: RunResult, past: list[RunResult]) -> Section:
    """Key figures of the stored runs of the same kind, suite and mesh, oldest first, this run ringed."""
    title = f"History: {run.kind} {run.provenance.suite_name} on {run.provenance.mesh}"
    section = Section(f"history-{run.kind}", title)
    runs = sorted({r.run_id: r for r in [*past, run]}.values(), key=lambda r: (r.time, r.run_id))
    per_run = [(r.run_id, _key_figures(r)) for r in runs]
    names = sorted({n for _, figures in per_run for n in figures})
    if not names:
        section.empty = "no key figures stored for these runs"
        return section
    # Values near 1 share a plot; KL and times have scales of their own.
    own_scale = [n for n in ("kl", "ttft_ms", "tokens_per_s_per_user") if n in names]
    for group in [[n for n in names if n not in own_scale], *([n] for n in own_scale)]:
        if not group:
            continue
        series = {n: [(rid, f[n]) for rid, f in per_run if n in f] for n in group}
        label = ", ".join(group)
        section.figures.append(plots.trend(series, run.run_id, f"{label} over stored runs",
                                           group[0] if len(group) == 1 else "value",
                                           f"Line chart of {label} for the {len(runs)} stored runs; the values are "
                                           "in the table below."))
    rows = [[rid, *(num(f.get(n)) for n in names)] for rid, f in per_run]
    section.tables.append(Table(f"{len(runs)} runs", ["run", *names], rows,
                                ["current" if rid == run.run_id else "" for rid, _ in per_run]))
    return section


# ----------------------------------------------------------------------------- comparison


def comparison(reports) -> Section:
    section = Section("comparison", "Comparison with the baseline", "The gate's table: every value paired with the "
                      "baseline's by its keys; regressions and failures first.")
    for report in reports:
        rows, classes = [], []
        for r in report.rows:
            change = f"x{r.ratio:.3f}" if r.ratio is not None else (f"{r.delta:+.4f}" if r.delta is not None else "-")
            rows.append([r.label, num(r.baseline), num(r.candidate), change, r.state, r.note])
            classes.append(r.state.replace(" ", "-"))
        section.tables.append(Table(f"{report.candidate} against {report.baseline}",
                                    ["value", "baseline", "candidate", "change", "state", "note"], rows, classes))
    if not reports:
        section.empty = "no baseline given (--baseline FILE|RUN|latest)"
    return section
