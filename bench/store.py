"""SQLite store of runs: one row per run (with the whole result JSON), one table of metric rows and
one of verdicts, both keyed by the structured fields of ``bench.results.Key``.

The file is marked as ours (``PRAGMA application_id``) and checked before anything is written, so
``--db`` pointing at another application's database is refused untouched. Inserts happen in one
transaction and are idempotent by run id. A version-1 store is rebuilt from the result JSON it
kept, through the results migration.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from bench.results import Key, RunResult, parse_result
from ground.errors import UserError
from ground.settings import settings

STORE_VERSION = 2
APPLICATION_ID = 0x67707462  # "gptb"
KEY_COLUMNS: tuple[str, ...] = tuple(Key.model_fields)


def _column(name: str) -> str:
    if name == "metric":
        return "metric TEXT NOT NULL"
    return f"{name} {'INTEGER' if Key.model_fields[name].annotation == (int | None) else 'TEXT'}"


_KEY_DDL = ", ".join(_column(c) for c in KEY_COLUMNS)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, time TEXT NOT NULL, suite TEXT NOT NULL,
    suite_hash TEXT NOT NULL, model_path TEXT NOT NULL, model_identity TEXT NOT NULL,
    model_config_hash TEXT NOT NULL, backend TEXT NOT NULL, ttnn_version TEXT, mesh TEXT NOT NULL,
    git_commit TEXT NOT NULL, host TEXT NOT NULL, verdict TEXT NOT NULL, result_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    run_id TEXT NOT NULL REFERENCES runs(run_id), {_KEY_DDL}, value REAL, status TEXT NOT NULL, reason TEXT NOT NULL,
    stderr REAL, samples TEXT);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id TEXT NOT NULL REFERENCES runs(run_id), {_KEY_DDL}, state TEXT NOT NULL, value REAL, threshold REAL,
    message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_suite_time ON runs(suite, time);
CREATE INDEX IF NOT EXISTS rows_run_metric ON rows(run_id, metric);
"""


def default_db() -> Path:
    return settings().cache / "results.db"


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _schema_version(conn: sqlite3.Connection) -> int | None:
    if "meta" not in _tables(conn):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _claim(conn: sqlite3.Connection, path: Path) -> None:
    """Refuses any database that is not ours before a single write; marks a new one as ours."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    tables = _tables(conn)
    # Version-1 stores predate the mark: they are ours when they hold our meta table and runs.
    ours_unmarked = app_id == 0 and {"meta", "runs"} <= tables and _schema_version(conn) == 1
    if app_id != 0 or (tables and not ours_unmarked):
        raise UserError(f"--db {str(path)!r} is not a gptoss-bench results database "
                        f"(application_id {app_id}, tables {', '.join(sorted(tables)) or 'none'}); refusing to touch it")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def connect(path: str | os.PathLike | None = None, create: bool = True) -> sqlite3.Connection:
    """Opens (``create``: creating if missing) the results database. Read-only callers pass
    ``create=False`` and get a UserError for a missing file instead of a new empty database."""
    path = Path(path) if path else default_db()
    if not path.exists():
        if not create:
            raise UserError(f"no results database at {str(path)!r}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--db {str(path)!r}: its directory cannot be created ({exc.strerror})") from None
    elif not path.is_file():
        raise UserError(f"--db {str(path)!r} is not a file")
    try:
        conn = sqlite3.connect(path)
        _claim(conn, path)
        _upgrade(conn, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"--db {str(path)!r}: not a usable results database ({exc})") from None
    conn.row_factory = sqlite3.Row
    return conn


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    version = _schema_version(conn)
    if version == STORE_VERSION:
        return
    if version is not None and version > STORE_VERSION:
        raise UserError(f"--db {str(path)!r}: store schema version {version}, this gptoss-bench reads {STORE_VERSION}")
    with conn:  # one transaction: the old tables stay until the new ones are complete
        results = []
        if version == 1:
            results = [parse_result(json.loads(r[0]), f"{path} (stored run)")
                       for r in conn.execute("SELECT result_json FROM runs")]
            for table in ("layer_pcc", "scalars", "segments", "routing", "runs"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(STORE_VERSION),))
        for result in results:
            _insert(conn, result)


def _key_values(item: Key) -> tuple:
    return tuple(getattr(item, c) for c in KEY_COLUMNS)


def _insert(conn: sqlite3.Connection, result: RunResult) -> None:
    p, rid = result.provenance, result.run_id
    conn.execute(
        "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, result.kind, result.time, p.suite_name, p.suite_hash, p.model_path, p.model_identity,
         p.model_config_hash, p.backend, p.ttnn_version, p.mesh, p.git_commit, p.host, result.state,
         result.model_dump_json(exclude_none=True)))
    marks = ",".join("?" * (len(KEY_COLUMNS) + 6))
    conn.executemany(f"INSERT INTO rows VALUES ({marks})",
                     [(rid, *_key_values(r), r.value, r.status, r.reason, r.stderr,
                       None if r.samples is None else json.dumps(r.samples)) for r in result.rows])
    marks = ",".join("?" * (len(KEY_COLUMNS) + 5))
    conn.executemany(f"INSERT INTO verdicts VALUES ({marks})",
                     [(rid, *_key_values(v), v.state, v.value, v.threshold, v.message) for v in result.verdicts])


def insert_run(conn: sqlite3.Connection, result: RunResult) -> bool:
    """Store ``result``; False (and no change) when its run id is already stored."""
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (result.run_id,)).fetchone():
        return False
    with conn:  # one transaction: a failure leaves no partial run
        _insert(conn, result)
    return True


def land(conn: sqlite3.Connection, result: RunResult, path: Path) -> Path:
    """A run lands whole or not at all: the JSON is written to a temp file, the row inserted (one
    transaction), then the file renamed into place; a failure or interrupt at any point removes what
    was done, so there is never a results file without its row or a row without its file."""
    from ground.fsutil import atomic_write

    inserted = False

    def write_then_insert(tmp: str) -> None:
        nonlocal inserted
        Path(tmp).write_text(result.model_dump_json(indent=1, exclude_none=True))
        inserted = insert_run(conn, result)

    try:
        return atomic_write(path, write_then_insert)
    except BaseException:
        if inserted:
            with conn:
                for table in ("rows", "verdicts", "runs"):
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (result.run_id,))
        raise


def list_runs(conn: sqlite3.Connection, suite: str | None = None, limit: int = 20) -> list[dict]:
    """Newest first, each with its key figures: the run-level verdict values by metric and the
    worst accumulated layer_out PCC."""
    where, params = ("WHERE suite = ?", [suite]) if suite else ("", [])
    runs = [dict(r) for r in conn.execute(
        f"SELECT run_id, time, kind, suite, model_path, model_identity, backend, ttnn_version, mesh, verdict "
        f"FROM runs {where} ORDER BY time DESC, run_id DESC LIMIT ?", (*params, limit))]
    for run in runs:
        run["figures"] = {r["metric"]: r["value"] for r in conn.execute(
            "SELECT metric, value FROM verdicts WHERE run_id = ? AND layer IS NULL AND phase IS NULL",
            (run["run_id"],))}
        run["min_pcc"] = conn.execute(
            "SELECT MIN(value) FROM rows WHERE run_id = ? AND metric = 'pcc' AND field = 'layer_out' "
            "AND kind = 'accumulated'", (run["run_id"],)).fetchone()[0]
    return runs


def load_run(conn: sqlite3.Connection, run_id: str) -> RunResult:
    row = conn.execute("SELECT result_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise UserError(f"no run {run_id!r} in the results database")
    return parse_result(json.loads(row[0]), f"stored run {run_id}")
