"""The long eval checks (``-m slow``): the whole gptoss_tiny group cold within its budget, lm-eval's own
catalogue (unknown names, a standard task from the local HF datasets cache or not), an accuracy suite
that lists tasks."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bench.corpus import FAMILIES
from bench.lmeval import TASKS_DIR
from bench.results import load_result

pytestmark = pytest.mark.slow
BUDGET_SECONDS = 180


def _cli(argv, tmp_path, **env):
    from ground.settings import QUIET

    environ = {k: v for k, v in os.environ.items() if k not in QUIET and k not in ("HF_MODEL", "HF_DATASETS_OFFLINE")}
    environ.update(GPTOSS_BENCH_CACHE=str(tmp_path / "cache"), **env)  # a cold cache, as a user's first run
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.cli", *argv, "--out", str(tmp_path / "out"),
                           "--db", str(tmp_path / "results.db")], capture_output=True, text=True, env=environ,
                          cwd=tmp_path)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def test_gptoss_tiny_limit_40_cold_within_budget(tmp_path):
    code, out, err, seconds = _cli(["eval", "--tasks", "gptoss_tiny", "--limit", "40"], tmp_path)
    print(f"\n{out}\ngptoss-bench eval --tasks gptoss_tiny --limit 40: {seconds:.1f} s cold "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    assert code in (0, 1), err[-3000:]
    assert seconds < BUDGET_SECONDS
    for noise in ("Traceback", "fatal:", "Warning", "it/s]"):
        assert noise not in err, err
    [path] = (tmp_path / "out").glob("eval-gptoss_tiny-1x8-*.json")
    result = load_result(path)
    tasks = [f"gptoss_tiny_{f}_{kind}" for kind in ("mc", "gen") for f in FAMILIES]
    assert [v.task for v in result.verdicts] == tasks
    for task in tasks:
        line = next(line for line in out.splitlines() if line.startswith(task + " "))
        assert line.count("±") == 2  # both sides with their stderr
        ref = result.rows_of("task_score", task=task, side="reference")[0]
        assert ref.stderr is not None and 0 <= ref.value <= 1
    # Multiple choice scores through lm-eval equal the corpus acceptance numbers (README, test_tiny_model).
    mc = {r.task: r.value for r in result.rows_of("task_score", side="reference", task_metric="acc")}
    assert mc["gptoss_tiny_copy_mc"] == 1.0 and mc["gptoss_tiny_sort_mc"] == 1.0
    assert code == (1 if result.state == "fail" else 0)


def test_unknown_task_searches_lm_evals_catalogue_then_says_so(tmp_path):
    code, _, err, _ = _cli(["eval", "--tasks", "gptoss_tiny_cpy_mc"], tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: unknown task 'gptoss_tiny_cpy_mc' (did you mean 'gptoss_tiny_copy_mc'?)")
    assert "or any of lm-eval's" in err


def _fake_hub_cache(root: Path) -> None:
    """allenai/ai2_arc (ARC-Easy) as the HF datasets cache holds a hub dataset downloaded once: five
    made-up questions in its schema, written with datasets' own ArrowWriter."""
    import datasets
    from datasets.arrow_writer import ArrowWriter

    rows = [{"id": f"q{i}", "question": f"What is {i} + 1?", "answerKey": "A",
             "choices": {"text": [str(i + 1), str(i + 2), str(i), str(i + 3)], "label": ["A", "B", "C", "D"]}}
            for i in range(5)]
    folder = root / "allenai___ai2_arc" / "ARC-Easy" / "0.0.0" / "0123456789abcdef"
    folder.mkdir(parents=True)
    splits = datasets.SplitDict(dataset_name="ai2_arc")
    features = datasets.Dataset.from_list(rows).features
    for split in ("train", "validation", "test"):
        with ArrowWriter(path=str(folder / f"ai2_arc-{split}.arrow"), features=features) as writer:
            for row in rows:
                writer.write(row)
            n, size = writer.finalize()
        splits.add(datasets.SplitInfo(name=split, num_bytes=size, num_examples=n, dataset_name="ai2_arc"))
    datasets.DatasetInfo(features=features, config_name="ARC-Easy", dataset_name="ai2_arc",
                         splits=splits).write_to_directory(str(folder))


def test_standard_task_runs_from_the_local_datasets_cache(tmp_path):
    _fake_hub_cache(tmp_path / "hf-datasets")
    code, out, err, _ = _cli(["eval", "--tasks", "arc_easy", "--limit", "3", "--mesh", "1x1"], tmp_path,
                             HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"))
    assert code in (0, 1), err[-2000:]
    [path] = (tmp_path / "out").glob("eval-arc_easy-1x1-*.json")
    result = load_result(path)
    assert [(v.task, v.task_metric) for v in result.verdicts] == [("arc_easy", "acc")]
    [ref_json] = (tmp_path / "out").glob("eval-arc_easy-*/gptoss-ref/*/results_*.json")
    assert json.loads(ref_json.read_text())["n-samples"]["arc_easy"] == {"original": 5, "effective": 3}


def test_standard_task_without_cached_data_is_one_line_never_a_wait(tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err, seconds = _cli(["eval", "--tasks", "arc_easy", "--limit", "3"], tmp_path,
                                 HF_DATASETS_CACHE=str(tmp_path / "empty"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: task 'arc_easy' cannot be loaded offline: its dataset is not in the local HF "
                          "datasets cache (HF_DATASETS_OFFLINE=1)")
    assert seconds < 90  # indexing lm-eval's catalogue, no network timeout


def test_accuracy_suite_listing_tasks_includes_their_verdicts(tmp_path):
    suite = yaml.safe_load((TASKS_DIR.parent / "smoke.yaml").read_text())
    suite.update(name="smoke-tasks", tasks={"names": ["gptoss_tiny_copy_mc", "gptoss_tiny_qa_gen"], "limit": 4})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    code, out, err, _ = _cli(["accuracy", "--suite", str(tmp_path / "s.yaml")], tmp_path)
    assert code in (0, 1), err[-2000:]
    [path] = (tmp_path / "out").glob("accuracy-smoke-tasks-1x8-*.json")
    result = load_result(path)
    assert [(v.task, v.mesh) for v in result.verdicts if v.metric == "task_ratio"] == [
        ("gptoss_tiny_copy_mc", "1x8"), ("gptoss_tiny_qa_gen", "1x8")]
    assert len(result.rows_of("task_score", side="device")) == 3  # acc, acc_norm, exact_match
    assert len(result.rows_of("wall_seconds")) == 2  # the accuracy run's own, not the task runs'
    assert result.thresholds["tasks"]["task_ratio_min"] == pytest.approx(0.95)
    assert "task_ratio" in out
