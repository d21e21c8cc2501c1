"""Results of one accuracy run: the metric payload, verdicts, and the JSON file per run.

The payload maps 1:1 onto the JSON and onto the SQLite tables in ``bench.store``.
Verdict states are distinct (pass, fail, skipped, error): a metric that could not be
computed is never stored as a silent number.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.errors import UserError

SCHEMA_VERSION = 1
State = Literal["pass", "fail", "skipped", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerPcc(_Strict):
    phase: str  # prefill, decode_0, ...
    layer: int
    field: str  # a reference.captures.LAYER_FIELDS name
    kind: Literal["accumulated", "isolated"]
    value: float | None  # None: not computable (see reason), never a made-up number
    reason: str = ""


class RoutingAgreement(_Strict):
    phase: str
    layer: int
    exact: float  # fraction of tokens whose top-k expert set matches exactly
    overlap: float  # mean |ref ∩ dev| / k


class Segment(_Strict):
    corpus: str
    segment: int  # index of the 32-token segment
    top1: float
    top5: float
    kl: float


class Scalar(_Strict):
    name: str
    value: float | None
    threshold: float | None = None
    verdict: State = "skipped"


class Metrics(_Strict):
    layer_pcc: list[LayerPcc] = []
    routing: list[RoutingAgreement] = []
    segments: list[Segment] = []
    scalars: list[Scalar] = []


class Verdict(_Strict):
    metric: str
    state: State
    value: float | None = None
    threshold: float | None = None
    message: str = ""


class Provenance(_Strict):
    git_commit: str
    host: str
    backend: str
    ttnn_version: str | None = None
    mesh: str
    model_path: str
    model_config_hash: str
    suite_name: str
    suite_hash: str
    versions: dict[str, str] = {}


class RunResult(_Strict):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    time: str = Field(description="UTC ISO 8601")
    provenance: Provenance
    thresholds: dict = Field(description="the suite's thresholds, as validated")
    metrics: Metrics
    verdicts: list[Verdict]

    @property
    def state(self) -> State:
        states = {v.state for v in self.verdicts}
        for worst in ("error", "fail", "pass"):
            if worst in states:
                return worst  # type: ignore[return-value]
        return "skipped"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """Sortable by time, unique across hosts: ``20261122T120000Z-1a2b3c4d``."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


# schema_version N -> function turning a version-N dict into version N+1. Empty until v2 exists.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migrate(data: dict, source: str) -> dict:
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise UserError(f"{source}: no integer 'schema_version'; not a gptoss-bench results file")
    if version > SCHEMA_VERSION:
        raise UserError(f"{source}: schema_version {version} is newer than this gptoss-bench ({SCHEMA_VERSION}); upgrade")
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise UserError(f"{source}: schema_version {version} cannot be migrated to {SCHEMA_VERSION}")
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def save_result(result: RunResult, path: str | os.PathLike) -> Path:
    """Write atomically: serialise fully to a temp file in the same dir, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(result.model_dump_json(indent=1))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_result(path: str | os.PathLike) -> RunResult:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: results file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON (truncated or corrupt?): {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(data).__name__}")
    data = migrate(data, str(path))
    try:
        return RunResult.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path}: invalid results file at {where}: {first['msg']}") from None


# suite threshold key -> capture fields it gates (reference.captures.LAYER_FIELDS names)
PCC_FIELDS: dict[str, tuple[str, ...]] = {
    "layer_out": ("layer_out",),
    "attention": ("attn_out",),
    "router_logits": ("router_logits",),
    "moe_out": ("moe_out",),
    "norms": ("attn_norm", "mlp_norm"),
}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _check(metric: str, value: float | None, threshold: float, higher_is_better: bool = True) -> Verdict:
    if value is None:
        return Verdict(metric=metric, state="skipped", threshold=threshold, message=f"{metric}: no data")
    if value != value:  # NaN
        return Verdict(metric=metric, state="error", threshold=threshold, message=f"{metric}: value is NaN")
    ok = value >= threshold if higher_is_better else value <= threshold
    op = ("<" if higher_is_better else ">") if not ok else (">=" if higher_is_better else "<=")
    return Verdict(
        metric=metric, state="pass" if ok else "fail", value=value, threshold=threshold,
        message=f"{metric} {value:.4f} {op} {threshold:g}",
    )


def _pcc_verdicts(rows: list[LayerPcc], thresholds) -> list[Verdict]:
    verdicts = []
    for row in rows:
        # "prefill" or "prefill@128" (suites with several prefill lengths); everything else is a decode step
        limits = thresholds.layer_pcc.prefill if row.phase.split("@")[0] == "prefill" else thresholds.layer_pcc.decode
        for key, fields in PCC_FIELDS.items():
            limit = getattr(limits, key)
            if row.field in fields and limit is not None:
                name = f"layer_pcc {row.phase} layer {row.layer} {row.field} {row.kind}"
                if row.value is None:
                    verdicts.append(Verdict(metric=name, state="error", threshold=limit, message=f"{name}: {row.reason or 'not computed'}"))
                else:
                    verdicts.append(_check(name, row.value, limit))
    return verdicts


def evaluate_thresholds(metrics: Metrics, thresholds) -> list[Verdict]:
    """One verdict per gated value; ``thresholds`` is a ``bench.suite.Thresholds``.

    Failing messages name the metric and the value against the threshold, e.g.
    ``layer_pcc prefill layer 3 layer_out accumulated 0.8712 < 0.88``.
    """
    verdicts = _pcc_verdicts(metrics.layer_pcc, thresholds)
    verdicts.append(_check("routing exact", _mean([r.exact for r in metrics.routing]), thresholds.routing.exact_min))
    verdicts.append(_check("routing overlap", _mean([r.overlap for r in metrics.routing]), thresholds.routing.overlap_min))
    verdicts.append(_check("top1", _mean([s.top1 for s in metrics.segments]), thresholds.top1_min))
    verdicts.append(_check("top5", _mean([s.top5 for s in metrics.segments]), thresholds.top5_min))
    verdicts.append(_check("kl", _mean([s.kl for s in metrics.segments]), thresholds.kl_max, higher_is_better=False))
    return verdicts
