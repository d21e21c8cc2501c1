"""Device against reference from lm-eval results dicts: rows, the pass rule, the printed table."""

import math

import pytest

from bench.eval_compare import compare, passes, primary_metric, ratio, scores
from bench.eval_summary import lines, score_cell
from bench.results import Provenance, RunResult


def _results(scores_by_task: dict, samples: dict | None = None, lower: tuple = ()) -> dict:
    """A results dict shaped as simple_evaluate returns it; scores_by_task: task -> {metric: (value, stderr)}."""
    results, hib, configs = {}, {}, {}
    for task, metrics in scores_by_task.items():
        entry = {"alias": task}
        for metric, (value, stderr) in metrics.items():
            name, _, flt = metric.partition(",")
            entry[f"{name},{flt or 'none'}"] = value
            entry[f"{name}_stderr,{flt or 'none'}"] = stderr
            hib.setdefault(task, {})[name] = name not in lower
        results[task] = entry
        if task != "group":
            configs[task] = {"metric_list": [{"metric": m.partition(",")[0]} for m in metrics]}
    return {"results": results, "higher_is_better": hib, "configs": configs, "samples": samples or {}}


def test_scores_read_value_stderr_and_filters():
    r = _results({"t": {"acc": (0.5, 0.1), "exact_match,strict": (0.25, "N/A")}})
    got = scores(r)
    assert got[("t", "acc")].value == 0.5 and got[("t", "acc")].stderr == 0.1
    assert got[("t", "exact_match,strict")].value == 0.25 and got[("t", "exact_match,strict")].stderr is None


def test_rows_and_verdicts_of_a_passing_and_a_failing_task():
    ref = _results({"a": {"acc": (0.80, 0.04), "acc_norm": (0.7, 0.05)}, "b": {"exact_match": (0.50, 0.05)}})
    dev = _results({"a": {"acc": (0.78, 0.04), "acc_norm": (0.2, 0.05)}, "b": {"exact_match": (0.45, 0.05)}})
    rows, verdicts = compare(ref, dev, tolerance=0.05, mesh="1x8")
    by = {(r.metric, r.task, r.task_metric, r.side): r for r in rows}
    assert by[("task_score", "a", "acc", "device")].value == 0.78
    assert by[("task_score", "a", "acc", "reference")].stderr == 0.04
    assert by[("task_delta", "a", "acc", None)].value == pytest.approx(-0.02)
    assert by[("task_ratio", "a", "acc", None)].value == pytest.approx(0.975)
    assert by[("task_ratio", "b", "exact_match", None)].value == pytest.approx(0.9)
    # One verdict per task, on its primary (first) metric: a's acc_norm collapse is reported, not judged.
    assert [(v.task, v.task_metric, v.state) for v in verdicts] == [("a", "acc", "pass"), ("b", "exact_match", "fail")]
    assert verdicts[1].threshold == 0.95 and verdicts[1].value == pytest.approx(0.9)
    assert "0.9000 < 0.95" in verdicts[1].message and "device 0.4500, reference 0.5000" in verdicts[1].message
    assert all(r.mesh == "1x8" for r in rows)


def test_rule_at_the_boundary_and_with_a_zero_reference():
    assert passes(0.95, 1.0, True, 0.05) and not passes(0.9499, 1.0, True, 0.05)
    assert passes(0.0, 0.0, True, 0.05)  # device >= 0.95 * 0
    assert ratio(0.3, 0.0, True) is None
    rows, verdicts = compare(_results({"t": {"acc": (0.0, 0.0)}}), _results({"t": {"acc": (0.0, 0.0)}}), 0.05, "1x1")
    assert verdicts[0].state == "pass" and verdicts[0].value is None
    ratio_row = next(r for r in rows if r.metric == "task_ratio")
    assert ratio_row.status == "error" and "undefined" in ratio_row.reason


def test_lower_is_better_metrics_invert_the_ratio():
    ref = _results({"ppl": {"word_perplexity": (10.0, None)}}, lower=("word_perplexity",))
    dev = _results({"ppl": {"word_perplexity": (12.0, None)}}, lower=("word_perplexity",))
    rows, verdicts = compare(ref, dev, 0.05, "1x8")
    assert next(r for r in rows if r.metric == "task_ratio").value == pytest.approx(10 / 12)
    assert verdicts[0].state == "fail"
    _, ok = compare(ref, _results({"ppl": {"word_perplexity": (10.4, None)}}, lower=("word_perplexity",)), 0.05, "1x8")
    assert ok[0].state == "pass"


def test_paired_stderr_and_disagreement_from_logged_samples():
    def logged(values):
        return {"t": [{"doc_id": i, "filter": "none", "acc": v} for i, v in enumerate(values)]}

    ref = _results({"t": {"acc": (0.75, 0.25)}}, logged([1, 1, 1, 0]))
    dev = _results({"t": {"acc": (0.50, 0.29)}}, logged([1, 0, 1, 1]))
    rows, _ = compare(ref, dev, 0.05, "1x8")
    by = {r.metric: r for r in rows if r.side is None}
    assert by["task_disagree"].value == 0.5  # documents 1 and 3
    diffs = [0, -1, 0, 1]
    mean = sum(diffs) / 4
    expected = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 3 / 4)
    assert by["task_delta"].stderr == pytest.approx(expected)


def test_missing_and_nonfinite_scores_never_pass():
    ref = _results({"t": {"acc": (0.5, 0.1)}})
    rows, verdicts = compare(ref, _results({"t": {"acc": (float("nan"), None)}}), 0.05, "1x8")
    assert verdicts[0].state == "nonfinite"
    assert next(r for r in rows if r.metric == "task_score" and r.side == "device").status == "nonfinite"
    rows, verdicts = compare(ref, _results({}), 0.05, "1x8")
    assert verdicts[0].state == "error"


def test_primary_metric_takes_the_first_filter():
    r = {"configs": {"gsm": {"metric_list": [{"metric": "exact_match"}], "filter_list": [{"name": "strict-match"}]}}}
    assert primary_metric(r, "gsm") == "exact_match,strict-match"


def test_score_cell():
    assert score_cell(0.65, 0.0763) == "0.650±.076"
    assert score_cell(1.0, None) == "1.000"
    assert score_cell(None, None) == "-"
    assert score_cell(12.5, 1.25) == "12.500±1.250"


def test_table_fits_80_columns_and_shows_every_task():
    ref = _results({"gptoss_tiny_letter_count_gen": {"exact_match": (0.6, 0.078)},
                    "gptoss_tiny_arithmetic_mc": {"acc": (0.55, 0.08), "acc_norm": (0.5, 0.08)},
                    "group": {"acc": (0.77, 0.027)}})
    dev = _results({"gptoss_tiny_letter_count_gen": {"exact_match": (0.5, 0.079)},
                    "gptoss_tiny_arithmetic_mc": {"acc": (0.55, 0.08), "acc_norm": (0.5, 0.08)},
                    "group": {"acc": (0.75, 0.027)}})
    rows, verdicts = compare(ref, dev, 0.05, "1x8")
    prov = Provenance(git_commit="x", host="h", backend="emulated", mesh="1x8", model_path="/m/tiny",
                      model_identity="0123456789abcdef", model_config_hash="c", suite_name="gptoss_tiny", suite_hash="s")
    result = RunResult(kind="eval", run_id="r", time="t", provenance=prov, rows=rows, verdicts=verdicts,
                       thresholds={"task_ratio_min": 0.95, "limit": 40})
    text = lines(result)
    assert all(len(line) <= 80 for line in text)
    assert text[0] == "eval gptoss_tiny on 1x8 (emulated), limit 40"
    assert text[1] == "model tiny 01234567; a task passes when device / reference >= 0.95"
    body = [line.split() for line in text[4:-1]]
    assert body[0] == ["gptoss_tiny_letter_count_gen", "exact_match", "0.600±.078", "0.500±.079", "-0.100", "0.833",
                       "fail"]
    assert body[1] == ["gptoss_tiny_arithmetic_mc", "acc", "0.550±.080", "0.550±.080", "+0.000", "1.000", "pass"]
    assert body[2] == ["group", "acc", "0.770±.027", "0.750±.027", "-0.020", "0.974", "-"]
    assert len(body) == 3  # acc_norm of a judged task is in the JSON, not the table
