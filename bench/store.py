"""SQLite store of accuracy runs: one row per run plus one table per metric kind.

Inserts happen in one transaction and are idempotent by run id (re-inserting a run
replaces nothing and adds nothing).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from bench.errors import UserError
from bench.results import RunResult

STORE_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, time TEXT NOT NULL, suite TEXT NOT NULL, suite_hash TEXT NOT NULL,
    model_path TEXT NOT NULL, model_config_hash TEXT NOT NULL, backend TEXT NOT NULL,
    ttnn_version TEXT, mesh TEXT NOT NULL, git_commit TEXT NOT NULL, host TEXT NOT NULL,
    verdict TEXT NOT NULL, result_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layer_pcc (
    run_id TEXT NOT NULL REFERENCES runs(run_id), phase TEXT NOT NULL, layer INTEGER NOT NULL,
    field TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('accumulated', 'isolated')), value REAL);
CREATE TABLE IF NOT EXISTS scalars (
    run_id TEXT NOT NULL REFERENCES runs(run_id), name TEXT NOT NULL, value REAL, threshold REAL,
    verdict TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    run_id TEXT NOT NULL REFERENCES runs(run_id), corpus TEXT NOT NULL, segment INTEGER NOT NULL,
    top1 REAL NOT NULL, top5 REAL NOT NULL, kl REAL NOT NULL);
CREATE TABLE IF NOT EXISTS routing (
    run_id TEXT NOT NULL REFERENCES runs(run_id), phase TEXT NOT NULL, layer INTEGER NOT NULL,
    exact REAL NOT NULL, overlap REAL NOT NULL);
CREATE INDEX IF NOT EXISTS runs_suite_time ON runs(suite, time);
"""


def default_db() -> Path:
    root = os.environ.get("GPTOSS_BENCH_CACHE") or Path.home() / ".cache" / "gptoss-bench"
    return Path(root) / "results.db"


def connect(path: str | os.PathLike | None = None) -> sqlite3.Connection:
    path = Path(path) if path else default_db()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path)
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: not a usable gptoss-bench results database: {exc}") from None
    if row is None:
        with conn:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(STORE_VERSION),))
    elif int(row[0]) != STORE_VERSION:
        conn.close()
        raise UserError(f"{path}: store schema version {row[0]}, this gptoss-bench reads {STORE_VERSION}")
    conn.row_factory = sqlite3.Row
    return conn


def insert_run(conn: sqlite3.Connection, result: RunResult) -> bool:
    """Store ``result``; False (and no change) when its run id is already stored."""
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (result.run_id,)).fetchone():
        return False
    p, m, rid = result.provenance, result.metrics, result.run_id
    with conn:  # one transaction: a failure leaves no partial run
        conn.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rid, result.time, p.suite_name, p.suite_hash, p.model_path, p.model_config_hash, p.backend,
             p.ttnn_version, p.mesh, p.git_commit, p.host, result.state, result.model_dump_json()),
        )
        conn.executemany("INSERT INTO layer_pcc VALUES (?,?,?,?,?,?)",
                         [(rid, r.phase, r.layer, r.field, r.kind, r.value) for r in m.layer_pcc])
        conn.executemany("INSERT INTO scalars VALUES (?,?,?,?,?)",
                         [(rid, s.name, s.value, s.threshold, s.verdict) for s in _scalars(result)])
        conn.executemany("INSERT INTO segments VALUES (?,?,?,?,?,?)",
                         [(rid, s.corpus, s.segment, s.top1, s.top5, s.kl) for s in m.segments])
        conn.executemany("INSERT INTO routing VALUES (?,?,?,?,?)",
                         [(rid, r.phase, r.layer, r.exact, r.overlap) for r in m.routing])
    return True


def _scalars(result: RunResult):
    """The run's scalar metrics plus the non-layer verdicts (top1, kl, routing ...) as scalar rows."""
    from bench.results import Scalar

    rows = list(result.metrics.scalars)
    names = {s.name for s in rows}
    for v in result.verdicts:
        if not v.metric.startswith("layer_pcc") and v.metric not in names:
            rows.append(Scalar(name=v.metric, value=v.value, threshold=v.threshold, verdict=v.state))
    return rows


def list_runs(conn: sqlite3.Connection, suite: str | None = None, limit: int = 20) -> list[dict]:
    """Newest first, each with its key figures (scalars by name, worst layer PCC)."""
    where, params = ("WHERE suite = ?", [suite]) if suite else ("", [])
    runs = [dict(r) for r in conn.execute(
        f"SELECT run_id, time, suite, model_path, model_config_hash, backend, ttnn_version, mesh, verdict "
        f"FROM runs {where} ORDER BY time DESC LIMIT ?", (*params, limit))]
    for run in runs:
        run["scalars"] = {r["name"]: r["value"] for r in conn.execute(
            "SELECT name, value FROM scalars WHERE run_id = ?", (run["run_id"],))}
        run["min_pcc"] = conn.execute(
            "SELECT MIN(value) FROM layer_pcc WHERE run_id = ? AND field = 'layer_out'", (run["run_id"],)).fetchone()[0]
    return runs


def load_run(conn: sqlite3.Connection, run_id: str) -> RunResult:
    row = conn.execute("SELECT result_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise UserError(f"no run {run_id!r} in the results database")
    return RunResult.model_validate(json.loads(row[0]))
