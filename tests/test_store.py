import argparse
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench import store
from bench.commands import history
from ground.errors import UserError
from test_results import make_result

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "results.db"


def test_insert_and_query(db):
    conn = store.connect(db)
    assert store.insert_run(conn, make_result("a", pcc=0.8712, time="2026-11-22T10:00:00+00:00"))
    assert store.insert_run(conn, make_result("b", top1=0.97, time="2026-11-22T11:00:00+00:00"))
    runs = store.list_runs(conn)
    assert [r["run_id"] for r in runs] == ["b", "a"]  # newest first
    assert [r["verdict"] for r in runs] == ["pass", "fail"]
    assert runs[1]["min_pcc"] == pytest.approx(0.8712)
    assert runs[0]["figures"]["top1"] == pytest.approx(0.97)
    assert conn.execute("SELECT COUNT(*) FROM rows WHERE run_id = 'a' AND metric = 'pcc'").fetchone()[0] == 3
    # rows keep their structured keys as columns: no string to parse back
    assert conn.execute("SELECT value FROM rows WHERE run_id='a' AND metric='top5' AND segment=1").fetchone()[0] == 0.98
    assert conn.execute("SELECT phase, step, layer, field, kind, threshold, state FROM verdicts WHERE run_id='a' "
                        "AND metric='pcc' AND field='attn_out'").fetchone()[:] == ("decode", 0, 0, "attn_out",
                                                                                   "isolated", 0.95, "pass")
    assert conn.execute("SELECT state FROM verdicts WHERE run_id='a' AND metric='kl'").fetchone()[0] == "pass"
    assert store.load_run(conn, "a") == make_result("a", pcc=0.8712, time="2026-11-22T10:00:00+00:00")
    assert store.list_runs(conn, suite="other") == []
    assert len(store.list_runs(conn, limit=1)) == 1


def test_insert_is_idempotent_by_run_id(db):
    conn = store.connect(db)
    assert store.insert_run(conn, make_result("a")) is True
    assert store.insert_run(conn, make_result("a")) is False
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "rows", "verdicts")}
    assert counts == {"runs": 1, "rows": 11, "verdicts": 8}


def test_insert_is_one_transaction(db, monkeypatch):
    conn = store.connect(db)
    result = make_result("a")
    monkeypatch.setattr(store, "_key_values", lambda item: 1 / 0)  # fail after the runs row is written
    with pytest.raises(ZeroDivisionError):
        store.insert_run(conn, result)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 0


def test_schema_version_recorded_and_checked(db):
    store.connect(db).close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(store.STORE_VERSION)
    assert raw.execute("PRAGMA application_id").fetchone()[0] == store.APPLICATION_ID
    with raw:
        raw.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(UserError, match="store schema version 7"):
        store.connect(db)


def test_version_1_store_is_rebuilt_from_its_results(tmp_path):
    """The database the earlier code wrote (one smoke run) opens as version 2 with every value kept."""
    db = tmp_path / "v1.db"
    shutil.copy(DATA / "results_v1.db", db)
    conn = store.connect(db)
    [run] = store.list_runs(conn)
    assert run["suite"] == "smoke" and run["verdict"] == "pass"
    v1 = json.loads((DATA / "results_v1.json").read_text())
    worst = min(r["value"] for r in v1["metrics"]["layer_pcc"] if r["field"] == "layer_out" and r["kind"] == "accumulated")
    assert run["figures"]["top1"] == 0.984375 and run["min_pcc"] == worst
    assert conn.execute("SELECT COUNT(*) FROM rows WHERE metric = 'pcc' AND layer IS NOT NULL").fetchone()[0] == 320
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {
        "meta", "runs", "rows", "verdicts"}
    assert conn.execute("PRAGMA application_id").fetchone()[0] == store.APPLICATION_ID


def test_another_applications_database_is_refused_untouched(db):
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    raw.close()
    before = db.read_bytes()
    with pytest.raises(UserError, match="is not a gptoss-bench results database"):
        store.connect(db)
    assert db.read_bytes() == before


def test_not_a_database(db):
    db.write_text("this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a usable results database"):
        store.connect(db)


def test_read_only_open_creates_nothing(tmp_path):
    missing = tmp_path / "typo" / "results.db"
    with pytest.raises(UserError, match="no results database at"):
        store.connect(missing, create=False)
    assert not (tmp_path / "typo").exists()


def test_default_db_follows_cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path / "cache"))
    assert store.default_db() == tmp_path / "cache" / "results.db"
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", "")  # empty means unset: the home default, never the cwd
    assert store.default_db() == Path.home() / ".cache" / "gptoss-bench" / "results.db"


def _history(db, capsys, **kw):
    args = dict(db=None if db is None else str(db), suite=None, limit=20, format=None)
    args.update(kw)
    code = history.run(argparse.Namespace(**args))
    return code, capsys.readouterr().out


def test_history_lists_runs_in_plain_text_when_piped(db, capsys):
    conn = store.connect(db)
    store.insert_run(conn, make_result("run-a", pcc=0.8712, time="2026-11-22T10:00:00+00:00"))
    store.insert_run(conn, make_result("run-b", time="2026-11-22T11:00:00+00:00"))
    conn.close()
    code, out = _history(db, capsys, suite="smoke")  # captured stdout is not a terminal: text format
    assert code == 0 and "…" not in out
    assert out.index("run-b") < out.index("run-a")
    line_a = next(line for line in out.splitlines() if "run-a" in line)
    assert line_a.split()[:4] == ["2026-11-22T10:00:00", "run-a", "accuracy", "smoke"]
    assert "fail" in line_a and "0.8712" in line_a and "emulated" in line_a and "1x8" in line_a
    assert _history(db, capsys, suite="gpt-oss-20b")[1].strip().startswith("no runs of suite gpt-oss-20b")


def test_history_csv_and_json(db, capsys):
    import csv
    import io

    conn = store.connect(db)
    store.insert_run(conn, make_result("run-a", pcc=0.8712))
    conn.close()
    [row] = list(csv.DictReader(io.StringIO(_history(db, capsys, format="csv")[1])))
    assert row["run_id"] == "run-a" and float(row["min_layer_out_pcc"]) == pytest.approx(0.8712)
    [record] = json.loads(_history(db, capsys, format="json")[1])
    assert record["verdict"] == "fail" and record["top1"] == pytest.approx(0.93)


def test_history_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path / "cache"))
    code, out = _history(None, capsys)
    assert code == 0 and out.startswith("no runs stored yet")
    with pytest.raises(UserError, match="no results database at"):
        _history(tmp_path / "typo" / "r.db", capsys)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "typo").exists()


def test_history_limit_must_be_positive():
    parser = argparse.ArgumentParser()
    history.add_arguments(parser)
    with pytest.raises(UserError, match="--limit '0' is not a positive integer"):
        parser.parse_args(["--limit", "0"])
