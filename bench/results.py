"""Results of one run: provenance, flat metric rows with structured keys, verdicts, one JSON file.

Every row and verdict carries its identity as fields (metric, mesh, phase, decode step, prefill
length, layer, capture field, kind, corpus, segment, side), never as a string to be parsed back.
The summary, the SQLite store, the gate and the report group on these fields.

Schema history: 1 kept per-kind lists (layer_pcc, routing, segments, scalars) and string-named
verdicts; 2 is the flat keyed form. Version-1 files load through ``MIGRATIONS``.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bench.metric_defs import METRICS
from bench.perf_schema import PerfPoint
from ground.errors import UserError
from ground.fsutil import atomic_text

SCHEMA_VERSION = 2
# nonfinite: a NaN/inf where a number was due; error: could not be computed; skipped: no data.
State = Literal["pass", "fail", "nonfinite", "error", "skipped"]
WORST_FIRST: tuple[str, ...] = ("error", "nonfinite", "fail", "pass", "skipped")
_RANK = {state: i for i, state in enumerate(WORST_FIRST)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Key(_Strict):
    """What a value is: the metric plus every coordinate that tells it apart from its siblings."""

    metric: str
    mesh: str | None = None
    phase: Literal["prefill", "decode"] | None = None
    step: int | None = None          # decode step index
    prefill_len: int | None = None   # prompt length of the run the value belongs to
    layer: int | None = None         # None for model-level fields (final_norm, logits)
    field: str | None = None         # a ground.captures field name
    kind: Literal["accumulated", "isolated"] | None = None
    corpus: str | None = None        # teacher-forcing source: greedy, a corpus split, a file
    segment: int | None = None       # 32-token segment of the teacher-forced text
    side: Literal["reference", "device"] | None = None
    # speed points (perf): where and how a time was taken
    batch: int | None = None
    isl: int | None = None           # input (prompt) sequence length
    osl: int | None = None           # output sequence length
    timing: Literal["modelled", "measured"] | None = None
    clock: Literal["device", "host"] | None = None  # host: emulator wall time, never a Wormhole time
    stat: Literal["mean", "p50", "p90", "p99"] | None = None
    category: str | None = None      # op category of a breakdown row (attention, experts, ccl, ...)
    # task scores (eval)
    task: str | None = None
    task_metric: str | None = None   # lm-eval's metric name: acc, acc_norm, exact_match, ...

    @field_validator("metric")
    @classmethod
    def _declared(cls, name: str) -> str:
        if name not in METRICS:
            raise ValueError(f"metric {name!r} is not declared in bench.metric_defs")
        return name

    def key(self) -> dict:
        """The identifying fields that are set."""
        return {name: getattr(self, name) for name in Key.model_fields if getattr(self, name) is not None}

    def where(self) -> str:
        """Short human location, e.g. ``prefill@32 L3 layer_out`` or ``decode_2@32``."""
        parts = []
        if self.phase is not None:
            phase = self.phase if self.step is None else f"{self.phase}_{self.step}"
            parts.append(phase if self.prefill_len is None else f"{phase}@{self.prefill_len}")
        if self.layer is not None:
            parts.append(f"L{self.layer}")
        if self.batch is not None:
            parts.append(f"b{self.batch} {self.isl}/{self.osl}")
        for name in ("field", "kind", "corpus", "side", "task", "task_metric", "category", "stat", "timing", "clock"):
            if getattr(self, name) is not None:
                parts.append(str(getattr(self, name)))
        if self.segment is not None:
            parts.append(f"seg{self.segment}")
        return " ".join(parts)


class Row(Key):
    value: float | None = None  # None: not computable (status and reason say why), never a made-up number
    status: Literal["ok", "nonfinite", "error"] = "ok"
    reason: str = ""
    stderr: float | None = None          # standard error of the value (task scores)
    samples: list[float] | None = None   # raw samples the value summarises (step times), for significance tests
    # Set only where this value's direction differs from its metric's declaration: lm-eval declares
    # higher_is_better per task metric (perplexity: lower), so one task_score row may run the other way.
    higher_is_better: bool | None = None


class Verdict(Key):
    state: State
    value: float | None = None
    threshold: float | None = None
    message: str = ""


def worst_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict a group of PCC verdicts is judged and shown by: the worst state, then the lowest value
    (a missing value counts as lowest)."""
    return min(verdicts, key=lambda v: (_RANK[v.state], v.value if v.value is not None else -math.inf))


class RunPlan(_Strict):
    """What an accuracy run decided before its work, its estimate, and what the work took."""

    reference_mode: Literal["whole", "stream"]
    reference_source: Literal["whole", "stream", "resident", "cached"]  # where the layers lived (reference.layers)
    decode: Literal["greedy", "forced"]  # decode-phase tokens: the reference's greedy choices, or fixed text
    decode_reason: str
    decode_steps: int                    # per prompt batch, as run
    teacher_forcing_tokens: int          # per source, as run
    emulated_caps: str | None = None     # what the suite's emulated caps cut, when they applied
    estimated_seconds: float | None = None  # reference phase, printed before it ran
    reference_seconds: float                # reference phase, as it ran
    estimated_peak_gib: float | None = None  # reference phase
    reference_peak_gib: float | None = None  # peak RSS of the process after the reference phase
    peak_rss_gib: float | None = None        # peak RSS of the process when the result was made (device included)
    rates: dict[str, float] = {}            # per-layer rates the estimate came from (reference.costs.Rates)
    projected_seconds: dict[str, float] = {}  # the suite's reference on the published models, on this host


class Provenance(_Strict):
    git_commit: str
    host: str
    backend: str
    ttnn_version: str | None = None
    mesh: str
    model_path: str
    model_identity: str = Field(description="content hash of config, weights and tokenizer")
    model_config_hash: str
    precision: dict = {}
    suite_name: str
    suite_hash: str
    versions: dict[str, str] = {}
    plan: RunPlan | None = None  # accuracy runs: decisions, estimate and actual time


class RunResult(_Strict):
    schema_version: int = SCHEMA_VERSION
    kind: Literal["accuracy", "perf", "eval"] = "accuracy"
    run_id: str
    time: str = Field(description="UTC ISO 8601")
    provenance: Provenance
    thresholds: dict = Field(description="the suite's thresholds, as validated")
    rows: list[Row]
    verdicts: list[Verdict]
    points: list[PerfPoint] = []  # perf runs: one typed point per mesh / batch / ISL / OSL / timing source

    @property
    def state(self) -> State:
        states = {v.state for v in self.verdicts}
        return next((s for s in WORST_FIRST if s in states), "skipped")  # type: ignore[return-value]

    def rows_of(self, metric: str, **key) -> list[Row]:
        return [r for r in self.rows if r.metric == metric and all(getattr(r, k) == v for k, v in key.items())]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """Sortable by time, unique across hosts: ``20261122T120000Z-1a2b3c4d``."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- migration


def _v1_phase(text: str) -> dict:
    """v1 phase strings: 'prefill', 'decode_3', with '@128' when a suite had several prefill lengths."""
    from ground.captures import phase_key  # here, not at the top: the capture schema pulls in torch

    name, _, length = text.partition("@")
    phase, step = phase_key(name)
    key: dict = {"prefill_len": int(length)} if length else {}
    return {**key, "phase": phase, **({"step": step} if step is not None else {})}


def _v1_scalar(name: str) -> dict | None:
    """'pcc prefill logits', 'text top1 eval device', 'wall_seconds device (emulated)' -> key fields."""
    words = name.split()
    if words[0] == "pcc" and len(words) == 3:
        return {"metric": "pcc", **_v1_phase(words[1]), "field": words[2]}
    if words[:2] == ["text", "top1"] and len(words) == 4:
        return {"metric": "text_top1", "corpus": words[2], "side": words[3]}
    if words[0] == "wall_seconds":
        return {"metric": "wall_seconds", "side": words[1]}
    return None


def _v1_verdict(v: dict, mesh: str) -> dict:
    words = v["metric"].split()
    fields = {"state": v["state"], "value": v.get("value"), "threshold": v.get("threshold"),
              "message": v.get("message", ""), "mesh": mesh}
    if words[0] == "layer_pcc":  # layer_pcc <phase> layer <i> <field> <kind>
        return {**fields, "metric": "pcc", **_v1_phase(words[1]), "layer": int(words[3]), "field": words[4],
                "kind": words[5]}
    return {**fields, "metric": "_".join(words)}  # 'routing exact' -> routing_exact, top1, top5, kl


def _v1_to_v2(data: dict) -> dict:
    metrics, prov = data["metrics"], data["provenance"]
    mesh = prov["mesh"]
    rows = [{"metric": "pcc", "mesh": mesh, **_v1_phase(r["phase"]), "layer": r["layer"], "field": r["field"],
             "kind": r["kind"], "value": r["value"], "status": "ok" if r["value"] is not None else "error",
             "reason": r.get("reason", "")} for r in metrics.get("layer_pcc", [])]
    for r in metrics.get("routing", []):
        for name in ("exact", "overlap"):
            rows.append({"metric": f"routing_{name}", "mesh": mesh, **_v1_phase(r["phase"]), "layer": r["layer"],
                         "kind": "accumulated", "value": r[name]})
    for s in metrics.get("segments", []):
        for name in ("top1", "top5", "kl"):
            rows.append({"metric": name, "mesh": mesh, "corpus": s["corpus"], "segment": s["segment"],
                         "value": s[name]})
    for s in metrics.get("scalars", []):
        key = _v1_scalar(s["name"])
        if key is not None:
            rows.append({**key, "mesh": mesh, "value": s["value"]})
    for row in rows:
        if row.get("metric") == "wall_seconds" and row.get("side") not in ("reference", "device"):
            row["side"] = "device"
    provenance = {k: v for k, v in prov.items()}
    provenance.setdefault("model_identity", f"config:{prov['model_config_hash']}")  # v1 knew only the config
    return {"schema_version": 2, "kind": "accuracy", "run_id": data["run_id"], "time": data["time"],
            "provenance": provenance, "thresholds": data["thresholds"], "rows": rows,
            "verdicts": [_v1_verdict(v, mesh) for v in data["verdicts"]]}


# schema_version N -> function turning a version-N dict into version N+1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def migrate(data: dict, source: str) -> dict:
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise UserError(f"{source}: no integer 'schema_version'; not a gptoss-bench results file")
    if version > SCHEMA_VERSION:
        raise UserError(f"{source}: schema_version {version} is newer than this gptoss-bench ({SCHEMA_VERSION}); upgrade")
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise UserError(f"{source}: schema_version {version} cannot be migrated to {SCHEMA_VERSION}")
        try:
            data = MIGRATIONS[version](data)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise UserError(f"{source}: malformed schema_version {version} file ({type(exc).__name__}: {exc})") from None
        version = data["schema_version"]
    return data


def parse_result(data: object, source: str) -> RunResult:
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a JSON object, got {type(data).__name__}")
    data = migrate(data, source)
    try:
        return RunResult.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{source}: invalid results file at {where}: {first['msg']}") from None


# ----------------------------------------------------------------------------- files


def save_result(result: RunResult, path: str | os.PathLike) -> Path:
    """Write atomically (temp file, fsync, rename), with the umask's permissions."""
    return atomic_text(path, result.model_dump_json(indent=1, exclude_none=True))


def load_result(path: str | os.PathLike) -> RunResult:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: results file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON (truncated or corrupt?): {exc}") from None
    return parse_result(data, str(path))
