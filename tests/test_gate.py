"""compare and gate: values paired by their keys, judged by the rule of their metric group, written
as a terminal table, JUnit, Markdown and JSON; exit 0 pass, 1 regression, 2 bad input."""
import json
from xml.etree import ElementTree as ET

import pytest

from bench import gate
from bench.cli import main
from bench.results import Provenance, Row, RunResult, save_result
from test_results import make_result


def _perf(run_id, ttft=120.0, tps=25.0, samples=None, timing="modelled", mesh="1x8", identity="0123456789abcdef"):
    key = dict(mesh=mesh, batch=1, isl=128, osl=128, timing=timing, clock="device")
    rows = [Row(metric="ttft_ms", value=ttft, **key),
            Row(metric="decode_ms", stat="mean", value=1000 / tps, samples=samples, **key),
            Row(metric="tokens_per_s_per_user", value=tps, **key)]
    prov = Provenance(git_commit="abc", host="vm", backend="emulated", mesh=mesh, model_path="/m", model_identity=identity,
                      model_config_hash="c", suite_name="smoke", suite_hash="h")
    return RunResult(kind="perf", run_id=run_id, time="2026-11-22T12:00:00+00:00", provenance=prov, thresholds={},
                     rows=rows, verdicts=[])


def _by_label(report):
    return {r.label: r for r in report.rows}


def test_identical_accuracy_runs_are_unchanged():
    report = gate.compare(make_result("a"), make_result("b"))
    assert report.comparable and {r.state for r in report.rows} == {"unchanged"}
    labels = set(_by_label(report))
    assert {"top1", "kl", "routing_exact", "worst pcc prefill layer_out accumulated"} <= labels
    assert not report.failing()


def test_top1_drop_beyond_tolerance_regresses_and_threshold_failure_fails():
    report = gate.compare(make_result("a", top1=0.96), make_result("b", top1=0.94))
    top1 = _by_label(report)["top1"]
    assert top1.state == "regressed" and top1.delta == pytest.approx(-0.02)
    within = _by_label(gate.compare(make_result("a", top1=0.96), make_result("b", top1=0.955)))["top1"]
    assert within.state == "unchanged"
    failed = gate.compare(make_result("a"), make_result("b", pcc=0.80))  # below the suite's 0.88
    worst = _by_label(failed)["worst pcc prefill layer_out accumulated"]
    assert worst.state == "failed" and failed.rows[0] is worst  # failures sort first


def test_another_model_is_not_comparable():
    other = make_result("b")
    other = other.model_copy(update={"provenance": other.provenance.model_copy(update={"model_identity": "ffff"})})
    report = gate.compare(make_result("a"), other)
    assert not report.comparable and report.rows[0].state == "not comparable"
    assert "model: baseline 0123456789abcdef vs candidate ffff" in report.rows[0].note
    assert report.failing() and not report.failing(allow_incomparable=True)


def test_modelled_speed_is_judged_by_the_factor_alone():
    rows = _by_label(gate.compare(_perf("a", ttft=100.0, tps=25.0), _perf("b", ttft=115.0, tps=26.0)))
    ttft = rows["ttft_ms b1 128/128 modelled device"]
    assert ttft.state == "regressed" and ttft.ratio == pytest.approx(1.15)
    assert rows["tokens_per_s_per_user b1 128/128 modelled device"].state == "unchanged"  # x1.04 is within 1.10
    faster = _by_label(gate.compare(_perf("a", ttft=100.0), _perf("b", ttft=80.0)))["ttft_ms b1 128/128 modelled device"]
    assert faster.state == "improved" and "update the baseline" in faster.note


def test_measured_speed_needs_significance():
    noisy_a = [40.0, 41.0, 39.5, 40.5, 40.2, 39.8]
    noisy_b = [44.0, 40.0, 47.0, 39.0, 48.0, 41.0]  # mean x1.08..1.1 but overlapping: not significant
    report = gate.compare(_perf("a", tps=25.0, samples=noisy_a, timing="measured"),
                          _perf("b", tps=22.5, samples=noisy_b, timing="measured"), gate.Rules(speed=gate.RatioRule(1.05)))
    decode = _by_label(report)["decode_ms b1 128/128 mean measured device"]
    assert decode.p_value is not None and decode.p_value >= 0.01 and decode.state == "unchanged"
    slow = [s * 1.3 for s in noisy_a]
    report = gate.compare(_perf("a", tps=25.0, samples=noisy_a, timing="measured"),
                          _perf("b", tps=25.0 / 1.3, samples=slow, timing="measured"))
    decode = _by_label(report)["decode_ms b1 128/128 mean measured device"]
    assert decode.state == "regressed" and decode.p_value < 0.01


def test_task_scores_allow_two_stderr():
    def run(run_id, score, stderr):
        prov = make_result().provenance
        rows = [Row(metric="task_score", task="gptoss_copy_mc", task_metric="acc", side="device", value=score,
                    stderr=stderr)]
        return RunResult(kind="eval", run_id=run_id, time="2026-11-22T12:00:00+00:00", provenance=prov, thresholds={},
                         rows=rows, verdicts=[])

    label = "task_score device gptoss_copy_mc acc"
    assert _by_label(gate.compare(run("a", 0.80, 0.05), run("b", 0.72, 0.05)))[label].state == "unchanged"  # 0.08 < 0.10
    assert _by_label(gate.compare(run("a", 0.80, 0.01), run("b", 0.72, 0.01)))[label].state == "regressed"


def test_lower_is_better_task_metrics_regress_when_they_rise():
    # lm-eval declares perplexity lower-is-better; eval_compare stores that on the row and the gate follows it.
    from bench.eval_compare import compare

    def lm_eval(ppl):
        return {"results": {"wiki": {"alias": "wiki", "word_perplexity,none": ppl, "word_perplexity_stderr,none": "N/A"}},
                "higher_is_better": {"wiki": {"word_perplexity": False}}, "configs": {"wiki": {}}}

    def run(run_id, ppl):
        rows, _ = compare(lm_eval(10.0), lm_eval(ppl), 0.05, "1x8")
        return RunResult(kind="eval", run_id=run_id, time="2026-11-22T12:00:00+00:00", provenance=make_result().provenance,
                         thresholds={}, rows=rows, verdicts=[])

    device = next(r for r in run("a", 10.0).rows if r.metric == "task_score" and r.side == "device")
    assert device.higher_is_better is False and device.value == 10.0
    rows = _by_label(gate.compare(run("a", 10.0), run("b", 12.0)))
    assert rows["task_score device wiki word_perplexity"].state == "regressed"
    assert rows["task_delta wiki word_perplexity"].state == "regressed"  # 0 -> +2: the device got worse
    assert rows["task_ratio wiki word_perplexity"].state == "regressed"  # 1.0 -> 10/12
    assert rows["task_score reference wiki word_perplexity"].state == "unchanged"
    better = _by_label(gate.compare(run("a", 12.0), run("b", 10.0)))
    assert better["task_score device wiki word_perplexity"].state == "improved"


@pytest.fixture
def files(tmp_path):
    base = save_result(make_result("base", top1=0.96), tmp_path / "base.json")
    same = save_result(make_result("same", top1=0.96), tmp_path / "same.json")
    worse = save_result(make_result("worse", top1=0.90), tmp_path / "worse.json")
    return tmp_path, base, same, worse


def test_gate_cli_passes_a_rerun_and_fails_a_regression_with_every_output(files, capsys, monkeypatch):
    tmp, base, same, worse = files
    summary = tmp / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["gate", str(same), "--baseline", str(base)]) == 0
    assert "unchanged" in capsys.readouterr().out
    outputs = ["--junit", str(tmp / "j.xml"), "--markdown", str(tmp / "g.md"), "--json", str(tmp / "g.json")]
    assert main(["gate", str(worse), "--baseline", str(base), *outputs]) == 1
    captured = capsys.readouterr()
    assert "top1" in captured.out and "regressed" in captured.out
    assert captured.err.strip().startswith("FAIL: gate: 1 value(s) failed: top1 regressed")
    suite = ET.parse(tmp / "j.xml").getroot().find("testsuite")
    failures = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert suite.get("failures") == "1" and [c.get("name") for c in failures] == ["top1"]
    assert "baseline 0.9600, candidate 0.9000" in failures[0].find("failure").get("message")
    md = (tmp / "g.md").read_text()
    assert "### FAIL:" in md and "| top1 | 0.9600 | 0.9000 | -0.0600 | **REGRESSED** |" in md
    assert json.loads((tmp / "g.json").read_text())[0]["failing"] == 1
    assert summary.read_text().startswith("earlier step\n## gptoss-bench gate")


def test_gate_cli_incomparable_and_bad_input(files, capsys):
    tmp, base, _, _ = files
    other = make_result("other")
    other = other.model_copy(update={"provenance": other.provenance.model_copy(update={"mesh": "4x8"})})
    other_path = save_result(other, tmp / "other.json")
    assert main(["gate", str(other_path), "--baseline", str(base)]) == 1
    assert "not comparable" in capsys.readouterr().out
    assert main(["gate", str(other_path), "--baseline", str(base), "--allow-incomparable"]) == 0
    capsys.readouterr()
    assert main(["gate", str(other_path), "--baseline", str(tmp / "missing.json"), "--db", str(tmp / "none.db")]) == 2
    assert "no results database" in capsys.readouterr().err
    (tmp / "broken.json").write_text("{")
    assert main(["gate", str(tmp / "broken.json"), "--baseline", str(base)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_update_baseline_rewrites_the_file(files, capsys):
    tmp, base, _, worse = files
    assert main(["gate", str(worse), "--baseline", str(base), "--update-baseline"]) == 0
    assert json.loads(base.read_text())["run_id"] == "worse"
    assert main(["gate", str(worse), "--baseline", str(base)]) == 0
    assert sorted(p.name for p in tmp.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_compare_cli_by_run_id_and_latest(tmp_path, capsys):
    from bench import store

    db = tmp_path / "r.db"
    conn = store.connect(db)
    store.insert_run(conn, make_result("old", top1=0.96, time="2026-11-22T10:00:00+00:00"))
    store.insert_run(conn, make_result("new", top1=0.90, time="2026-11-22T11:00:00+00:00"))
    conn.close()
    assert main(["compare", "old", "latest", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "baseline  run old" in out and "candidate latest run new" in out
    assert next(line for line in out.splitlines() if line.startswith("top1")).split()[1:4] == ["0.9600", "0.9000",
                                                                                            "-0.0600"]


def test_emulator_host_times_are_not_gated():
    def host_run(run_id, ms):
        run = _perf(run_id)
        rows = [r.model_copy(update={"clock": "host", "timing": "measured", "value": ms}) for r in run.rows]
        return run.model_copy(update={"rows": rows})

    report = gate.compare(host_run("a", 100.0), host_run("b", 300.0))  # a slower CI machine, not a slower model
    assert report.comparable and report.rows == []


@pytest.mark.slow
def test_worse_precision_fails_the_gate_end_to_end(tmp_path, capsys):
    """Issue 15's case on a full-size model: bfloat8_b experts move more bytes than the default bfloat4_b,
    so modelled decode is slower; the gate names every slowed value in the table, JUnit and Markdown."""
    common = ["perf", "--size", "20b", "--mesh", "1x8", "--batch", "1", "--isl", "128", "--osl", "4",
              "--db", str(tmp_path / "r.db")]
    assert main([*common, "--out", str(tmp_path / "base")]) == 0
    assert main([*common, "--precision", "bf8_experts", "--out", str(tmp_path / "cand")]) == 0
    capsys.readouterr()
    [base], [cand] = (list((tmp_path / d).glob("perf-20b-1x8-*.json")) for d in ("base", "cand"))
    code = main(["gate", str(cand), "--baseline", str(base), "--junit", str(tmp_path / "j.xml"),
                 "--markdown", str(tmp_path / "g.md")])
    out = capsys.readouterr().out
    assert code == 1
    slowed = {"decode_ms b1 128/4 mean modelled device", "tokens_per_s_per_user b1 128/4 modelled device"}
    assert all(any(line.startswith(name) and "regressed" in line for line in out.splitlines()) for name in slowed)
    failures = {c.get("name") for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
                if c.find("failure") is not None}
    assert slowed <= failures
    markdown = (tmp_path / "g.md").read_text()
    assert all(f"| {name} |" in markdown for name in slowed) and "**REGRESSED**" in markdown
