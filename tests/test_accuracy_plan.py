"""What an accuracy run decides before its work (bench.accuracy_plan): decode tokens greedy or forced,
the teacher-forcing cap on the emulator, the printed plan and estimate, and the record of both in the
results' provenance next to the actual time."""

import contextlib
import io
from pathlib import Path

import pytest
import torch
import yaml

from bench.accuracy_plan import FORCED_PROMPT_SOURCE, decide_decode, plan_inputs, project, project_published, run_counts
from bench.inputs import prompt_batch
from bench.suite import load_suite, parse_suite
from ground.checkpoint import bundled_tiny
from ground.config import ModelConfig
from ground.errors import UserError
from reference import costs
from reference.presets import get_preset, published_config

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
RATES = costs.Rates(layer_build=0.5, expert_fetch=0.05, expert_token=0.001, attention_token=0.002,
                    attention_pair=1e-6, head_fetch=2.0, head_fixed=0.2, head_token=0.02)


def _suite_data(**changes) -> dict:
    data = yaml.safe_load((ROOT / "suites" / "smoke.yaml").read_text())
    data.pop("perf", None)
    data.pop("tasks", None)
    for key, value in changes.items():
        target = data
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return data


def _loaded(tmp_path, **changes):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(_suite_data(**changes)))
    return load_suite(str(path))


def test_auto_decode_is_greedy_when_the_layers_fit_in_ram(monkeypatch):
    import reference.runner as runner

    suite = parse_suite(_suite_data(), "smoke")
    config = bundled_tiny().config
    assert decide_decode(suite, config, "whole") == ("greedy", "auto: the whole model is in RAM")
    decode, reason = decide_decode(suite, config, "stream")
    assert decode == "greedy" and reason.startswith("auto: the layers fit in RAM packed")
    monkeypatch.setattr(runner, "RESIDENT_SHARE", 0.0)
    decode, reason = decide_decode(suite, config, "stream")
    assert decode == "forced" and "over 0% of this host's RAM" in reason
    forced = parse_suite(_suite_data(**{"reference.decode": "forced"}), "x")
    assert decide_decode(forced, config, "whole") == ("forced", "suite 'smoke' sets reference.decode: forced")


def test_the_emulated_caps_apply_on_the_emulator_only():
    suite = load_suite("gpt-oss-20b").suite
    steps, tokens, caps = run_counts(suite, "emulated")
    assert (steps, tokens) == (suite.emulated.decode_steps, suite.emulated.teacher_forcing_tokens)
    assert steps < suite.decode_steps == 32 and tokens < suite.teacher_forcing.tokens == 1024
    assert caps == (f"{steps} of the suite's 32 decode steps and {tokens} of its 1024 teacher-forced tokens per "
                    "source: the suite's emulated caps, on the emulated backend")
    assert run_counts(suite, "ttnn") == (32, 1024, None)
    assert load_suite("gpt-oss-120b").suite.reference.decode == "forced"
    smoke = load_suite("smoke").suite
    assert run_counts(smoke, "emulated") == (smoke.decode_steps, smoke.teacher_forcing.tokens, None)


def test_suite_keys_are_checked():
    with pytest.raises(UserError, match="emulated.teacher_forcing_tokens: Input should be greater than 0"):
        parse_suite(_suite_data(**{"emulated.teacher_forcing_tokens": 0}), "s")
    with pytest.raises(UserError, match="reference.decode: Input should be 'auto', 'greedy' or 'forced'"):
        parse_suite(_suite_data(**{"reference.decode": "sometimes"}), "s")
    with pytest.raises(UserError, match="unknown key 'decod' in reference .did you mean 'decode'"):
        parse_suite(_suite_data(**{"reference.decod": "forced"}), "s")


def test_forced_inputs_continue_the_prompts_with_held_out_text(tmp_path):
    loaded = _loaded(tmp_path, **{"reference.decode": "forced", "teacher_forcing.tokens": 48,
                                  "emulated.teacher_forcing_tokens": 40})
    tiny = bundled_tiny()
    plan = plan_inputs(loaded, tiny, "whole", "emulated")
    assert plan.decode == "forced" and plan.forcing_tokens == 40
    [ids], [tokens] = plan.prompts, plan.prompt_decode_tokens
    longer = prompt_batch(loaded, tiny.tokenizer, 32 + 4)
    assert torch.equal(ids, longer[:, :32]) and torch.equal(tokens, longer[:, 32:])
    prompt, corpus = plan.forcing
    assert (prompt.source, corpus.source) == (FORCED_PROMPT_SOURCE, "eval")
    first = prompt_batch(loaded, tiny.tokenizer, 32 + 40)
    assert torch.equal(prompt.context, first[:, :32]) and torch.equal(prompt.forced, first[:, 32:])
    assert corpus.forced.shape == (1, 40)
    requests = plan.requests()
    assert [(r.label, r.greedy, r.capture_layers, r.decode_steps) for r in requests] == [
        ("prompt @32", False, True, 4), ("teacher forcing 'prompt'", False, False, 40),
        ("teacher forcing 'eval'", False, False, 40)]
    greedy = plan_inputs(_loaded(tmp_path), tiny, "whole", "ttnn")
    assert greedy.decode == "greedy" and greedy.prompt_decode_tokens == [None]
    assert [tf.source for tf in greedy.forcing] == ["greedy", "eval"] and greedy.forcing[0].forced is None


def test_projection_for_the_published_models():
    loaded = load_suite("gpt-oss-20b")
    twenty, big = (ModelConfig.from_dict(published_config(get_preset(n))) for n in ("20b", "120b"))
    e20, e120 = project(loaded, twenty, RATES), project(loaded, big, RATES)
    assert len(e20.passes) == 1 and len(e20.passes[0]) == 24 + 1  # forced: one pass, 24 layers + head
    assert len(e120.passes[0]) == 36 + 1 and e120.seconds > e20.seconds > 0
    tokens = 160 + 2 * 1056  # prompt 128 + 32 forced; two teacher-forcing sources of 32 + 1024
    assert e20.passes[0][-1] == pytest.approx(RATES.head_fetch + RATES.head_fixed + (tokens - 1) * RATES.head_token)
    # Only checkpoints with the published layer shapes are projected.
    assert project_published(loaded, bundled_tiny(), RATES) == {}


def test_cli_prints_the_plan_before_the_work_and_records_it(tmp_path, monkeypatch):
    from bench.cli import main
    from bench.results import load_result

    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump(_suite_data(**{
        "meshes": ["1x1"], "decode_steps": 2, "reference.decode": "forced", "teacher_forcing.tokens": 32,
        "teacher_forcing.segment": 16, "emulated.teacher_forcing_tokens": 16, "emulated.decode_steps": 1})))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["accuracy", "--suite", str(suite), "--reference-mode", "stream", "--backend", "emulated",
                     "--out", str(tmp_path / "out"), "--db", str(tmp_path / "db")])
    err = err.getvalue()
    assert code == 0, err[-2000:]
    lines = err.splitlines()
    first = {key: next(i for i, line in enumerate(lines) if line.startswith(key)) for key in (
        "decode tokens: forced (suite 'smoke' sets reference.decode: forced)",
        "decode steps: 1; teacher forcing: 16 tokens per source (1 of the suite's 2 decode steps and 16 of its 32",
        "reference (stream): layer-streamed (one layer in RAM at a time)", "  estimate:", "device 1x1 (emulated)",
        "reference computed 3 input(s)", "device 1x1: load weights in")}
    assert list(first.values()) == sorted(first.values())  # the plan comes before any of the work
    result = load_result(next((tmp_path / "out").glob("*.json")))
    plan = result.provenance.plan
    assert (plan.reference_mode, plan.reference_source, plan.decode) == ("stream", "stream", "forced")
    assert (plan.decode_steps, plan.teacher_forcing_tokens) == (1, 16) and "emulated caps" in plan.emulated_caps
    assert {r.step for r in result.rows_of("pcc", phase="decode")} == {0}
    assert plan.estimated_seconds > 0 and plan.reference_seconds > 0 and plan.rates["expert_fetch"] > 0
    assert 0 < plan.reference_peak_gib <= plan.peak_rss_gib and plan.estimated_peak_gib > 0
    assert {r.corpus for r in result.rows_of("top1")} == {FORCED_PROMPT_SOURCE, "eval"}
    assert {r.segment for r in result.rows_of("top1")} == {0}  # 16 tokens: one segment per source
    wall = {r.side: r.value for r in result.rows_of("wall_seconds")}
    assert wall["reference"] == pytest.approx(plan.reference_seconds, abs=1e-3)
