import json
import os

import pytest

from bench import results as R
from bench.errors import UserError
from bench.suite import load_suite

SMOKE = load_suite("smoke")


def make_result(run_id="run-1", pcc=0.95, top1=0.93, time="2026-11-22T12:00:00+00:00") -> R.RunResult:
    metrics = R.Metrics(
        layer_pcc=[
            R.LayerPcc(phase="prefill", layer=3, field="layer_out", kind="accumulated", value=pcc),
            R.LayerPcc(phase="decode_0", layer=0, field="attn_out", kind="isolated", value=0.99),
            R.LayerPcc(phase="prefill", layer=0, field="mlp_norm", kind="isolated", value=0.999),
        ],
        routing=[R.RoutingAgreement(phase="prefill", layer=0, exact=0.9, overlap=0.97)],
        segments=[R.Segment(corpus="eval", segment=0, top1=top1, top5=1.0, kl=0.01),
                  R.Segment(corpus="eval", segment=1, top1=top1, top5=0.98, kl=0.03)],
    )
    return R.RunResult(
        run_id=run_id, time=time,
        provenance=R.Provenance(git_commit="abc", host="vm", backend="emulated", mesh="1x8", model_path="/m/tiny",
                                model_config_hash="0123456789abcdef", suite_name="smoke", suite_hash=SMOKE.hash),
        thresholds=SMOKE.suite.thresholds.model_dump(), metrics=metrics,
        verdicts=R.evaluate_thresholds(metrics, SMOKE.suite.thresholds),
    )


def test_verdicts_name_metric_value_and_threshold():
    result = make_result(pcc=0.8712)
    failing = [v for v in result.verdicts if v.state == "fail"]
    assert [v.message for v in failing] == ["layer_pcc prefill layer 3 layer_out accumulated 0.8712 < 0.88"]
    by_name = {v.metric: v for v in result.verdicts}
    assert by_name["top1"].value == pytest.approx(0.93) and by_name["top1"].state == "pass"
    assert by_name["kl"].value == pytest.approx(0.02) and by_name["kl"].message == "kl 0.0200 <= 0.05"
    # decode rows use the decode limits; attn_out is gated by 'attention', mlp_norm by 'norms'
    assert by_name["layer_pcc decode_0 layer 0 attn_out isolated"].threshold == 0.95
    assert by_name["layer_pcc prefill layer 0 mlp_norm isolated"].threshold == 0.99
    assert result.state == "fail"
    assert make_result().state == "pass"


def test_missing_and_uncomputable_metrics_are_distinct_states():
    metrics = R.Metrics(layer_pcc=[R.LayerPcc(phase="prefill", layer=0, field="layer_out", kind="isolated",
                                              value=None, reason="device output has NaN")])
    verdicts = {v.metric: v for v in R.evaluate_thresholds(metrics, SMOKE.suite.thresholds)}
    assert verdicts["layer_pcc prefill layer 0 layer_out isolated"].state == "error"
    assert "device output has NaN" in verdicts["layer_pcc prefill layer 0 layer_out isolated"].message
    assert verdicts["top1"].state == "skipped" and verdicts["top1"].value is None
    nan = R.Metrics(segments=[R.Segment(corpus="eval", segment=0, top1=1.0, top5=1.0, kl=float("nan"))])
    assert {v.metric: v.state for v in R.evaluate_thresholds(nan, SMOKE.suite.thresholds)}["kl"] == "error"


def test_round_trip(tmp_path):
    result = make_result()
    path = R.save_result(result, tmp_path / "run.json")
    assert R.load_result(path) == result
    assert json.loads(path.read_text())["schema_version"] == R.SCHEMA_VERSION
    assert os.listdir(tmp_path) == ["run.json"]


def test_truncated_file_rejected(tmp_path):
    path = R.save_result(make_result(), tmp_path / "run.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(UserError, match=r"run.json: not valid JSON \(truncated or corrupt\?\)"):
        R.load_result(path)


def test_unknown_schema_and_bad_fields_rejected(tmp_path):
    data = json.loads(make_result().model_dump_json())
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dict(data, schema_version=99)))
    with pytest.raises(UserError, match="schema_version 99 is newer"):
        R.load_result(path)
    path.write_text(json.dumps({k: v for k, v in data.items() if k != "schema_version"}))
    with pytest.raises(UserError, match="no integer 'schema_version'"):
        R.load_result(path)
    data["verdicts"][0]["state"] = "passed"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"r.json: invalid results file at verdicts.0.state"):
        R.load_result(path)


def test_forward_migration_hook(tmp_path, monkeypatch):
    data = json.loads(make_result().model_dump_json())
    old = dict(data, schema_version=0, run="renamed-id")
    del old["run_id"]
    monkeypatch.setitem(R.MIGRATIONS, 0, lambda d: {**{k: v for k, v in d.items() if k != "run"},
                                                   "run_id": d["run"], "schema_version": 1})
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert R.load_result(path).run_id == "renamed-id"


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    R.save_result(make_result(run_id="first"), target)

    def explode(self, **kwargs):
        raise RuntimeError("serialisation failed half-way")

    monkeypatch.setattr(R.RunResult, "model_dump_json", explode)
    with pytest.raises(RuntimeError, match="half-way"):
        R.save_result(make_result(run_id="second"), target)
    assert os.listdir(tmp_path) == ["run.json"]  # no temp file left behind
    monkeypatch.undo()
    assert R.load_result(target).run_id == "first"  # the previous file is intact


def test_failure_after_partial_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    R.save_result(make_result(run_id="first"), target)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R.os, "fsync", disk_full)  # the temp file holds bytes when this fires
    with pytest.raises(OSError, match="No space left"):
        R.save_result(make_result(run_id="second"), target)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["run.json"]
    assert R.load_result(target).run_id == "first"
