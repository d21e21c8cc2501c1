"""Faults that need a real process: SIGTERM / SIGINT mid-run, a closed pipe, read-only outputs (root
ignores permission bits, so the capability is dropped with setpriv) and a full disk (a tiny tmpfs in a
private mount namespace). Each leaves either a complete run or nothing. Marked ``faults`` (seconds
each): .ci/run runs them; ``python -m pytest -m faults`` here.
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[1]
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def _env(tmp_path: Path) -> dict:
    from ground.settings import QUIET

    env = {k: v for k, v in os.environ.items() if k not in QUIET and k != "HF_MODEL"}
    env["GPTOSS_BENCH_CACHE"] = str(tmp_path / "cache")
    return env


def _small_suite(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "suites" / "smoke.yaml").read_text())
    data.update(meshes=["1x1"], decode_steps=1, teacher_forcing={"corpus": "eval", "tokens": 8, "segment": 8})
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(tmp_path: Path, out: Path, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bench.cli", "accuracy", "--suite", str(_small_suite(tmp_path)),
            "--out", str(out), "--db", str(db), *extra]


def _leftovers(*roots: Path) -> list[str]:
    return [str(p) for root in roots if root.exists() for p in root.rglob("*") if p.name.endswith(".tmp")]


def _runs(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0] if db.exists() else 0


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_signal_mid_run_leaves_nothing(tmp_path, sig, code, word):
    out, db = tmp_path / "out", tmp_path / "results.db"
    proc = subprocess.Popen(_cli(tmp_path, out, db, "--no-cache"), env=_env(tmp_path), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:  # wait until the reference is computing
        if "reference cache miss" in line:
            break
    time.sleep(0.5)
    proc.send_signal(sig)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == code, rest
    assert rest.strip().splitlines()[-1] == word and "Traceback" not in rest
    assert not out.exists() or not any(out.iterdir())
    assert _runs(db) == 0 and _leftovers(out, tmp_path / "cache") == []


def test_closed_pipe_still_lands_the_run(tmp_path):
    out, db = tmp_path / "out", tmp_path / "results.db"
    command = " ".join(f"'{a}'" for a in _cli(tmp_path, out, db))
    proc = subprocess.run(["bash", "-c", f"{command} | head -1; echo status ${{PIPESTATUS[0]}}"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    first, status = proc.stdout.strip().splitlines()
    assert first.startswith("accuracy smoke on 1x1") and status == "status 0", proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert len(list(out.glob("*.json"))) == 1 and _runs(db) == 1


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
def test_read_only_out_and_db_are_found_before_the_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    db = tmp_path / "results.db"
    db.touch()
    env = _env(tmp_path)
    os.chmod(ro, 0o555)
    try:
        started = time.perf_counter()
        proc = subprocess.run([*NO_DAC, *_cli(tmp_path, ro / "out", tmp_path / "ok.db")], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"error: --out '{ro / 'out'}' is not writable (permission denied)"
        assert time.perf_counter() - started < 30  # found by the preflight checks, not after the reference
        os.chmod(db, 0o444)
        proc = subprocess.run([*NO_DAC, *_cli(tmp_path, tmp_path / "out", db)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "cannot be written" in proc.stderr or "readonly" in proc.stderr
    finally:
        os.chmod(ro, 0o755)


def _can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs unshare -m (root in a private mount namespace)")
def test_full_disk_is_exit_2_and_leaves_no_half_result(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    db = tmp_path / "results.db"
    inner = " ".join(f"'{a}'" for a in _cli(tmp_path, full / "out", db))
    script = f"mount -t tmpfs -o size=48k tmpfs '{full}' && {inner}; code=$?; ls -A '{full}/out'; exit $code"
    proc = subprocess.run(["unshare", "-m", "bash", "-c", script], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {full / 'out'}/accuracy-smoke-1x1-") and last.endswith(": no space left on the device")
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == ""  # nothing left in --out: no JSON, no temp file
    assert _runs(db) == 0


def test_streaming_into_a_closed_pipe_stops_quietly(tmp_path):
    proc = subprocess.run(["bash", "-c", f"'{sys.executable}' -m bench.cli generate --prompt '1 + 2 =' "
                           "--max-new-tokens 40 | head -c 5; echo \" status ${PIPESTATUS[0]}\""],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.stdout.endswith(" status 141\n"), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
