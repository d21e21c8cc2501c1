import argparse
import sqlite3

import pytest

from bench import store
from bench.commands import history
from bench.errors import UserError
from test_results import make_result


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
    assert runs[0]["scalars"]["top1"] == pytest.approx(0.97)
    assert conn.execute("SELECT COUNT(*) FROM layer_pcc WHERE run_id = 'a'").fetchone()[0] == 3
    assert conn.execute("SELECT top1, top5, kl FROM segments WHERE run_id='a' AND segment=1").fetchone()[:] == (0.93, 0.98, 0.03)
    assert conn.execute("SELECT exact, overlap FROM routing WHERE run_id='a'").fetchone()[:] == (0.9, 0.97)
    assert conn.execute("SELECT verdict FROM scalars WHERE run_id='a' AND name='kl'").fetchone()[0] == "pass"
    assert store.load_run(conn, "a") == make_result("a", pcc=0.8712, time="2026-11-22T10:00:00+00:00")
    assert store.list_runs(conn, suite="other") == []
    assert len(store.list_runs(conn, limit=1)) == 1


def test_insert_is_idempotent_by_run_id(db):
    conn = store.connect(db)
    assert store.insert_run(conn, make_result("a")) is True
    assert store.insert_run(conn, make_result("a")) is False
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "segments", "routing")}
    assert counts == {"runs": 1, "segments": 2, "routing": 1}


def test_insert_is_one_transaction(db, monkeypatch):
    conn = store.connect(db)
    result = make_result("a")
    monkeypatch.setattr(store, "_scalars", lambda r: 1 / 0)  # fail after the runs row is written
    with pytest.raises(ZeroDivisionError):
        store.insert_run(conn, result)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM layer_pcc").fetchone()[0] == 0


def test_schema_version_recorded_and_checked(db):
    store.connect(db).close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(store.STORE_VERSION)
    with raw:
        raw.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(UserError, match="store schema version 7"):
        store.connect(db)


def test_not_a_database(db):
    db.write_text("this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a usable gptoss-bench results database"):
        store.connect(db)


def test_default_db_follows_cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path / "cache"))
    assert store.default_db() == tmp_path / "cache" / "results.db"


def test_history_lists_runs(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    conn = store.connect(db)
    store.insert_run(conn, make_result("run-a", pcc=0.8712, time="2026-11-22T10:00:00+00:00"))
    store.insert_run(conn, make_result("run-b", time="2026-11-22T11:00:00+00:00"))
    conn.close()
    assert history.run(argparse.Namespace(db=str(db), suite="smoke", limit=20)) == 0
    out = capsys.readouterr().out
    assert out.index("run-b") < out.index("run-a")
    line_a = next(line for line in out.splitlines() if "run-a" in line)
    assert "fail" in line_a and "0.8712" in line_a and "emulated" in line_a and "1x8" in line_a
    assert history.run(argparse.Namespace(db=str(db), suite="gpt-oss-20b", limit=20)) == 0
    assert "no runs of suite gpt-oss-20b" in capsys.readouterr().out


def test_history_limit_must_be_positive():
    parser = argparse.ArgumentParser()
    history.add_arguments(parser)
    with pytest.raises(UserError, match="--limit '0' is not a positive integer"):
        parser.parse_args(["--limit", "0"])
