"""`gptoss-bench accuracy` end to end through the CLI: the smoke suite on the bundled tiny model."""

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.metric_defs import metric
from bench.results import load_result
from bench.thresholds import PCC_FIELDS

ROOT = Path(__file__).resolve().parents[1]
N_LAYERS = 4
PHASES = [("prefill", None)] + [("decode", i) for i in range(4)]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


# The cold run is a fresh process, as a user's is: it counts how often the model's config.json is
# opened (an audit hook sees every open) and shows exactly what a user sees on stderr.
COUNTING_RUN = textwrap.dedent("""
    import sys
    opened = []
    sys.addaudithook(lambda event, args: event == "open" and isinstance(args[0], str)
                     and args[0].endswith("/tiny/config.json") and opened.append(args[0]))
    from bench.cli import main
    code = main(sys.argv[1:])
    print(f"config.json opened {len(opened)} times")
    sys.exit(code)
""")


def _fresh_process(argv, cache):
    from ground.settings import QUIET

    # In-process CLI calls of other tests set QUIET here; the child must start as a user's shell would.
    env = {k: v for k, v in os.environ.items() if k not in QUIET and k != "HF_MODEL"}
    env["GPTOSS_BENCH_CACHE"] = str(cache)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", COUNTING_RUN, *argv], capture_output=True, text=True, env=env)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The default command once, cold, in a fresh process (the reference cache's hit path is tested in
    test_reference.py; running the CLI twice here cost the default run seconds for nothing new)."""
    root = tmp_path_factory.mktemp("accuracy")
    argv = ["accuracy", "--out", str(root / "out"), "--db", str(root / "results.db")]
    cold = _fresh_process(argv, root / "cache")
    print(f"\nsmoke accuracy: cold {cold[3]:.1f} s (fresh process)")
    return root, cold


def test_cold_run_reads_config_once_and_prints_no_third_party_noise(smoke):
    _, (code, out, err, _) = smoke
    assert code == 0, err[-3000:]
    assert out.strip().splitlines()[-1] == "config.json opened 1 times"
    for noise in ("use_kernels", "Warning", "Loading weights", "past_key_values"):
        assert noise not in err, err


def _results(root):
    return sorted((root / "out").glob("accuracy-smoke-1x8-*.json"))


def test_smoke_passes_and_writes_every_layer(smoke):
    root, (code, out, err, _) = smoke
    assert code == 0, err[-2000:]
    result = load_result(_results(root)[0])
    p = result.provenance
    assert p.backend == "emulated" and p.mesh == "1x8" and p.suite_name == "smoke"
    assert len(p.model_identity) == 16 and len(p.model_config_hash) == 16 and p.precision["expert_weights"] == "bfloat8_b"
    gated = {f for fields in PCC_FIELDS.values() for f in fields}
    rows = {(r.phase, r.step, r.layer, r.field, r.kind): r.value for r in result.rows_of("pcc")}
    for phase, step in PHASES:
        for layer in range(N_LAYERS):
            for field in gated:
                for kind in ("accumulated", "isolated"):
                    value = rows[(phase, step, layer, field, kind)]
                    assert value is not None and -1.0 <= value <= 1.0
    assert all(r.prefill_len == 32 and r.mesh == "1x8" for r in result.rows_of("pcc"))
    routing = result.rows_of("routing_exact")
    assert {(r.phase, r.step, r.layer) for r in routing} == {(p, s, i) for p, s in PHASES for i in range(N_LAYERS)}
    assert {r.corpus for r in result.rows_of("top1")} == {"greedy", "eval"}
    for corpus in ("greedy", "eval"):
        [top1], [top5], [kl] = (result.rows_of(m, corpus=corpus) for m in ("top1", "top5", "kl"))
        assert 0 <= top1.value <= top5.value <= 1 and kl.value >= 0
    assert "results:" in out and "verdict pass" in out


def test_summary_is_one_line_per_group_within_80_columns(smoke):
    _, (_, out, _, _) = smoke
    table = out[out.index("accuracy smoke on 1x8"):out.index("results:")].splitlines()
    assert max(len(line) for line in table) <= 80
    checks = [line.split("  ")[0].strip() for line in table[3:]]
    assert len(checks) == len(set(checks))  # one line per group
    assert {"top1", "kl", "routing_exact", "pcc prefill layer_out acc", "pcc decode moe_out iso",
            "wall_seconds device"} <= set(checks)
    assert len(table) == 3 + 20 + 5 + 6  # title, header, rule; 20 PCC groups, 5 run-level, 6 info


def test_verdicts_agree_with_thresholds(smoke):
    root, _ = smoke
    result = load_result(_results(root)[0])
    assert len(result.verdicts) > 100
    for v in result.verdicts:
        assert v.state in ("pass", "fail"), v
        ok = v.value >= v.threshold if metric(v.metric).higher_is_better else v.value <= v.threshold
        assert (v.state == "pass") == ok, v
    summary = {v.metric: v for v in result.verdicts if v.layer is None}
    print("\n" + "\n".join(f"{m}: {summary[m].value:.4f} (threshold {summary[m].threshold})"
                           for m in ("top1", "top5", "kl", "routing_exact", "routing_overlap")))
    worst = min((r for r in result.rows_of("pcc", field="layer_out")), key=lambda r: r.value)
    print(f"worst layer_out PCC {worst.value:.4f} ({worst.where()})")


def test_cold_run_computes_the_reference(smoke):
    _, (_, _, err, _) = smoke
    assert "reference cache miss" in err and "reference cache hit" not in err


def test_sqlite_holds_the_run_and_history_lists_it(smoke):
    root, _ = smoke
    db = sqlite3.connect(root / "results.db")
    runs = db.execute("SELECT run_id, suite, backend, mesh, verdict FROM runs").fetchall()
    [path] = _results(root)
    result = load_result(path)
    assert runs == [(result.run_id, "smoke", "emulated", "1x8", "pass")]
    assert db.execute("SELECT COUNT(*) FROM rows WHERE run_id = ?", (result.run_id,)).fetchone()[0] == len(result.rows)
    code, out, _, _ = _run(["history", "--db", str(root / "results.db")])
    assert code == 0 and result.run_id in out


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
    assert "FAIL:" in err and "pcc prefill@32 L" in err and "layer_out" in err and "< 0.99999" in err
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
