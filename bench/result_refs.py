"""Naming a stored run on the command line: a results file, a run id in the database, ``latest``,
or (for the gate) the committed baseline of the candidate's suite and mesh."""

from __future__ import annotations

from contextlib import closing
from importlib import resources
from pathlib import Path

from bench.results import RunResult, load_result
from ground.errors import UserError


def resolve(spec: str, db: str | None, like: RunResult | None = None) -> tuple[RunResult, str]:
    """(run, how to name it). ``latest``: the newest stored run of the same kind, suite and mesh as
    ``like`` (any run when ``like`` is None)."""
    from bench import store

    path = Path(spec)
    if path.is_file():
        return load_result(path), str(path)
    with closing(store.connect(db, create=False)) as conn:
        if spec == "latest":
            return _latest(conn, like)
        row = conn.execute("SELECT run_id FROM runs WHERE run_id = ?", (spec,)).fetchone()
        if row is None:
            raise UserError(f"{spec!r} is neither a results file nor a run id in {db or store.default_db()}")
        return store.load_run(conn, spec), f"run {spec}"


def _latest(conn, like: RunResult | None) -> tuple[RunResult, str]:
    from bench import store

    where, params = "", []
    if like is not None:
        where = "WHERE kind = ? AND suite = ? AND mesh = ? AND run_id != ?"
        params = [like.kind, like.provenance.suite_name, like.provenance.mesh, like.run_id]
    row = conn.execute(f"SELECT run_id FROM runs {where} ORDER BY time DESC, run_id DESC LIMIT 1", params).fetchone()
    if row is None:
        what = f" of {like.kind} {like.provenance.suite_name} on {like.provenance.mesh}" if like else ""
        raise UserError(f"no stored run{what} to use as 'latest'")
    return store.load_run(conn, row[0]), f"latest run {row[0]}"


def baselines_dir() -> Path:
    return Path(str(resources.files("suites"))) / "baselines"


def committed_baseline(candidate: RunResult) -> Path:
    p = candidate.provenance
    return baselines_dir() / f"{candidate.kind}-{p.suite_name}-{p.mesh}.json"
