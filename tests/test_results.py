import json
import math
import os
from pathlib import Path

import pytest

from bench import results as R
from bench.metric_defs import METRICS, metric
from bench.thresholds import evaluate
from bench.suite import load_suite
from ground.errors import UserError

SMOKE = load_suite("smoke")
DATA = Path(__file__).resolve().parent / "data"


def pcc_row(phase="prefill", layer=3, field="layer_out", kind="accumulated", value=0.95, step=None, **extra):
    return R.Row(metric="pcc", mesh="1x8", phase=phase, step=step, prefill_len=32, layer=layer, field=field,
                 kind=kind, value=value, **extra)


def make_result(run_id="run-1", pcc=0.95, top1=0.93, time="2026-11-22T12:00:00+00:00") -> R.RunResult:
    rows = [pcc_row(value=pcc),
            pcc_row(phase="decode", step=0, layer=0, field="attn_out", kind="isolated", value=0.99),
            pcc_row(layer=0, field="mlp_norm", kind="isolated", value=0.999),
            R.Row(metric="routing_exact", mesh="1x8", phase="prefill", prefill_len=32, layer=0, kind="accumulated",
                  value=0.9),
            R.Row(metric="routing_overlap", mesh="1x8", phase="prefill", prefill_len=32, layer=0, kind="accumulated",
                  value=0.97)]
    for segment, (t5, kl) in enumerate(((1.0, 0.01), (0.98, 0.03))):
        rows += [R.Row(metric=name, mesh="1x8", corpus="eval", segment=segment, value=value)
                 for name, value in (("top1", top1), ("top5", t5), ("kl", kl))]
    return R.RunResult(
        run_id=run_id, time=time,
        provenance=R.Provenance(git_commit="abc", host="vm", backend="emulated", mesh="1x8", model_path="/m/tiny",
                                model_identity="0123456789abcdef", model_config_hash="fedcba9876543210",
                                suite_name="smoke", suite_hash=SMOKE.hash),
        thresholds=SMOKE.suite.thresholds.model_dump(), rows=rows,
        verdicts=evaluate(rows, SMOKE.suite.thresholds, "1x8"),
    )


def test_verdicts_carry_keys_values_and_thresholds():
    result = make_result(pcc=0.8712)
    failing = [v for v in result.verdicts if v.state == "fail"]
    assert [v.message for v in failing] == ["pcc prefill@32 L3 layer_out accumulated 0.8712 < 0.88"]
    assert failing[0].key() == {"metric": "pcc", "mesh": "1x8", "phase": "prefill", "prefill_len": 32, "layer": 3,
                                "field": "layer_out", "kind": "accumulated"}
    run_level = {v.metric: v for v in result.verdicts if v.layer is None}
    assert run_level["top1"].value == pytest.approx(0.93) and run_level["top1"].state == "pass"
    assert run_level["kl"].value == pytest.approx(0.02) and run_level["kl"].message == "kl 0.0200 <= 0.05"
    # decode rows use the decode limits; attn_out is gated by 'attention', mlp_norm by 'norms'
    by_field = {(v.phase, v.field): v for v in result.verdicts if v.metric == "pcc"}
    assert by_field[("decode", "attn_out")].threshold == 0.95 and by_field[("decode", "attn_out")].step == 0
    assert by_field[("prefill", "mlp_norm")].threshold == 0.99
    assert result.state == "fail"
    assert make_result().state == "pass"


def test_direction_comes_from_the_metric_table():
    # kl is the one lower-is-better accuracy metric: above its limit fails, below passes.
    assert metric("kl").higher_is_better is False and metric("top1").higher_is_better is True
    worse_kl = make_result()
    rows = [r.model_copy(update={"value": 0.2}) if r.metric == "kl" else r for r in worse_kl.rows]
    verdict = next(v for v in evaluate(rows, SMOKE.suite.thresholds) if v.metric == "kl")
    assert verdict.state == "fail" and verdict.message == "kl 0.2000 > 0.05"
    assert all(m.unit is not None and m.description for m in METRICS.values())


def test_undeclared_metric_is_rejected():
    with pytest.raises(ValueError, match="metric 'top7' is not declared"):
        R.Row(metric="top7", value=1.0)


def test_missing_nonfinite_and_uncomputable_are_distinct_states():
    rows = [pcc_row(layer=0, value=None, status="nonfinite", reason="device has 3 NaN/inf where reference is finite"),
            pcc_row(layer=1, value=None, status="error", reason="shape mismatch")]
    verdicts = evaluate(rows, SMOKE.suite.thresholds)
    by_layer = {v.layer: v for v in verdicts if v.metric == "pcc"}
    assert by_layer[0].state == "nonfinite" and "3 NaN/inf" in by_layer[0].message
    assert by_layer[1].state == "error" and "shape mismatch" in by_layer[1].message
    top1 = next(v for v in verdicts if v.metric == "top1")
    assert top1.state == "skipped" and top1.value is None
    nan_kl = [R.Row(metric="kl", corpus="eval", segment=0, value=None, status="nonfinite", reason="kl is nan")]
    assert next(v for v in evaluate(nan_kl, SMOKE.suite.thresholds) if v.metric == "kl").state == "nonfinite"
    # a NaN that reaches check() directly never passes either
    from bench.thresholds import check
    assert check(R.Key(metric="top1"), math.nan, 0.9).state == "nonfinite"


def test_round_trip(tmp_path):
    result = make_result()
    path = R.save_result(result, tmp_path / "run.json")
    assert R.load_result(path) == result
    assert json.loads(path.read_text())["schema_version"] == R.SCHEMA_VERSION == 2
    assert os.listdir(tmp_path) == ["run.json"]


def test_version_1_file_loads_with_the_same_values():
    """A results file written by schema 1 (the stored smoke run of the earlier code) migrates forward."""
    v1 = json.loads((DATA / "results_v1.json").read_text())
    result = R.load_result(DATA / "results_v1.json")
    assert result.schema_version == 2 and result.run_id == v1["run_id"]
    pcc = result.rows_of("pcc", layer=2, field="moe_out", kind="isolated", phase="decode", step=0)
    old = next(r for r in v1["metrics"]["layer_pcc"]
               if (r["phase"], r["layer"], r["field"], r["kind"]) == ("decode_0", 2, "moe_out", "isolated"))
    assert [r.value for r in pcc] == [old["value"]]
    assert len(result.rows_of("pcc")) == len(v1["metrics"]["layer_pcc"]) + 10  # + final_norm/logits x 5 phases
    assert len(result.rows_of("routing_exact")) == len(v1["metrics"]["routing"])
    assert [r.value for r in result.rows_of("top1")] == [s["top1"] for s in v1["metrics"]["segments"]]
    walls = {r.side: r.value for r in result.rows_of("wall_seconds")}
    assert walls == {"reference": pytest.approx(2.8221617), "device": pytest.approx(2.6202543)}
    text = {r.side: r.value for r in result.rows_of("text_top1", corpus="eval")}
    assert text == {"reference": 0.78125, "device": 0.8125}
    verdicts = {(v.metric, v.layer, v.field, v.kind, v.phase, v.step): v for v in result.verdicts}
    assert verdicts[("top1", None, None, None, None, None)].value == 0.984375
    assert verdicts[("routing_exact", None, None, None, None, None)].value == 0.9984375
    assert verdicts[("pcc", 0, "attn_out", "accumulated", "prefill", None)].state == "pass"
    assert len(result.verdicts) == len(v1["verdicts"]) and result.state == "pass"
    assert result.provenance.model_identity == "config:" + v1["provenance"]["model_config_hash"]


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
    path.write_text(json.dumps({"schema_version": 1, "run_id": "x"}))
    with pytest.raises(UserError, match=r"malformed schema_version 1 file \(KeyError"):
        R.load_result(path)


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
