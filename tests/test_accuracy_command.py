"""`gptoss-bench accuracy` end to end through the CLI: the smoke suite on the bundled tiny model."""

import contextlib
import io
import json
import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.results import PCC_FIELDS, load_result
from reference.captures import LAYER_FIELDS

ROOT = Path(__file__).resolve().parents[1]
N_LAYERS = 4
PHASES = ["prefill"] + [f"decode_{i}" for i in range(4)]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The default command twice: cold (reference computed) then cached (reference read back)."""
    root = tmp_path_factory.mktemp("accuracy")
    argv = ["accuracy", "--out", str(root / "out"), "--db", str(root / "results.db")]
    cold = _run(argv)
    cached = _run(argv)
    print(f"\nsmoke accuracy: cold {cold[3]:.1f} s, reference cached {cached[3]:.1f} s")
    return root, cold, cached


def _results(root):
    return sorted((root / "out").glob("accuracy-smoke-1x8-*.json"))


def test_smoke_passes_and_writes_every_layer(smoke):
    root, (code, out, err, _), _ = smoke
    assert code == 0, err[-2000:]
    result = load_result(_results(root)[0])
    assert result.provenance.backend == "emulated" and result.provenance.mesh == "1x8"
    assert result.provenance.suite_name == "smoke" and len(result.provenance.model_config_hash) == 16
    gated = {f for fields in PCC_FIELDS.values() for f in fields}
    rows = {(r.phase, r.layer, r.field, r.kind): r.value for r in result.metrics.layer_pcc}
    for phase in PHASES:
        for layer in range(N_LAYERS):
            for field in gated:
                for kind in ("accumulated", "isolated"):
                    value = rows[(phase, layer, field, kind)]
                    assert value is not None and -1.0 <= value <= 1.0
    assert {(r.phase, r.layer) for r in result.metrics.routing} == {(p, i) for p in PHASES for i in range(N_LAYERS)}
    assert {s.corpus for s in result.metrics.segments} == {"greedy", "eval"}
    for s in result.metrics.segments:
        assert 0 <= s.top1 <= s.top5 <= 1 and s.kl >= 0
    assert "results:" in out and "verdict pass" in out


def test_verdicts_agree_with_thresholds(smoke):
    root, _, _ = smoke
    result = load_result(_results(root)[0])
    assert len(result.verdicts) > 100
    for v in result.verdicts:
        assert v.state in ("pass", "fail"), v
        higher_is_better = v.metric != "kl"
        ok = v.value >= v.threshold if higher_is_better else v.value <= v.threshold
        assert (v.state == "pass") == ok, v
    summary = {v.metric: v for v in result.verdicts}
    print("\n" + "\n".join(f"{m}: {summary[m].value:.4f} (threshold {summary[m].threshold})"
                           for m in ("top1", "top5", "kl", "routing exact", "routing overlap")))
    worst = min((r for r in result.metrics.layer_pcc if r.field == "layer_out"), key=lambda r: r.value)
    print(f"worst layer_out PCC {worst.value:.4f} ({worst.phase} layer {worst.layer} {worst.kind})")


def test_second_run_reads_the_reference_from_cache(smoke):
    _, (_, _, cold_err, _), (code, _, err, _) = smoke
    assert code == 0
    assert "reference cache miss" in cold_err
    assert "reference cache hit" in err and "reference cache miss" not in err


def test_sqlite_holds_both_runs_and_history_lists_them(smoke):
    root, _, _ = smoke
    db = sqlite3.connect(root / "results.db")
    runs = db.execute("SELECT run_id, suite, backend, mesh, verdict FROM runs").fetchall()
    assert len(runs) == 2 and {r[1:] for r in runs} == {("smoke", "emulated", "1x8", "pass")}
    n_pcc = db.execute("SELECT COUNT(*) FROM layer_pcc WHERE run_id = ?", (runs[0][0],)).fetchone()[0]
    assert n_pcc == len(load_result(_results(root)[0]).metrics.layer_pcc)
    code, out, _, _ = _run(["history", "--db", str(root / "results.db")])
    assert code == 0 and all(r[0] in out for r in runs)


def _suite_file(tmp_path, **changes):
    data = yaml.safe_load((ROOT / "suites" / "smoke.yaml").read_text())
    data.update(meshes=["1x1"], decode_steps=1)
    for key, value in changes.items():
        target = data
        *parents, leaf = key.split(".")
        for p in parents:
            target = target[p]
        target[leaf] = value
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_failing_threshold_exits_1_and_names_the_metric(tmp_path):
    suite = _suite_file(tmp_path, **{"thresholds.layer_pcc.prefill": {"layer_out": 0.99999}})
    code, out, err, _ = _run(["accuracy", "--suite", str(suite), "--out", str(tmp_path / "out"),
                              "--db", str(tmp_path / "db")])
    assert code == 1
    assert "FAIL:" in err and "layer_pcc prefill layer" in err and "layer_out" in err and "< 0.99999" in err
    result = load_result(next((tmp_path / "out").glob("*.json")))
    assert result.state == "fail"


def test_unknown_suite_key_exits_2_naming_the_key(tmp_path):
    suite = _suite_file(tmp_path, decode_stepz=3)
    code, out, err, _ = _run(["accuracy", "--suite", str(suite), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "unknown key 'decode_stepz'" in err and "did you mean 'decode_steps'" in err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("argv, message", [
    (["--mesh", "3x"], "mesh '3x' is not understood"),
    (["--suite", "no-such-suite"], "unknown suite 'no-such-suite'"),
    (["--model", "/nonexistent/dir"], "'/nonexistent/dir' is not a directory"),
    (["--suite", "gpt-oss-20b"], "takes its model from $HF_MODEL, which is unset"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, argv, message):
    monkeypatch.delenv("HF_MODEL", raising=False)
    code, _, err, _ = _run(["accuracy", *argv, "--out", str(tmp_path / "out"), "--db", str(tmp_path / "db")])
    assert code == 2 and message in err, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
