"""`gptoss-bench eval` through the CLI: files in lm-eval's layout, the stored run, exit codes."""

import contextlib
import io
import json
import shutil
import sqlite3
import textwrap

import pytest
import yaml

from bench.cli import main
from bench.lmeval import TASKS_DIR
from bench.results import load_result
from ground.errors import UserError

SMALL = ["--mesh", "1x1", "--backend", "emulated", "--limit", "2"]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _paths(tmp_path):
    return ["--out", str(tmp_path / "out"), "--db", str(tmp_path / "results.db")]


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """A real run of two tasks whose device scores are halved before comparison (a broken device model
    in miniature): exit 1, and everything still written and stored."""
    import bench.eval as runner

    tmp = tmp_path_factory.mktemp("eval")
    real = runner.compare

    def halved(reference, device, tolerance, mesh):
        device = json.loads(json.dumps(device, default=float))
        for entry in device["results"].values():
            for key, value in entry.items():
                if "," in key and "_stderr" not in key:
                    entry[key] = value / 2
        return real(reference, device, tolerance, mesh)

    runner.compare = halved
    try:
        result = _run(["eval", "--tasks", "gptoss_tiny_copy_mc,gptoss_tiny_copy_gen", *SMALL, "--log-samples",
                       *_paths(tmp)])
    finally:
        runner.compare = real
    return tmp, result


def test_failing_task_exits_1_after_storing_everything(failing_run):
    tmp, (code, out, err) = failing_run
    assert code == 1, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("FAIL: 2 task(s) below device/reference >= 0.95: task_ratio")
    [path] = (tmp / "out").glob("eval-gptoss_tiny_copy_mc+gptoss_tiny_copy_gen-1x1-*.json")
    result = load_result(path)
    assert result.kind == "eval" and result.provenance.mesh == "1x1" and result.provenance.backend == "emulated"
    assert [(v.task, v.task_metric, v.state) for v in result.verdicts] == [
        ("gptoss_tiny_copy_mc", "acc", "fail"), ("gptoss_tiny_copy_gen", "exact_match", "fail")]
    with sqlite3.connect(tmp / "results.db") as db:
        assert db.execute("SELECT kind, verdict FROM runs").fetchall() == [("eval", "fail")]
        stored = db.execute("SELECT COUNT(*) FROM rows WHERE metric = 'task_score'").fetchone()[0]
    assert stored == len(result.rows_of("task_score")) == 2 * 3  # acc, acc_norm, exact_match per side


def test_each_side_is_written_in_lm_evals_layout(failing_run):
    tmp, (_, out, _) = failing_run
    [run_dir] = [p for p in (tmp / "out").iterdir() if p.is_dir()]
    result = load_result(run_dir.with_suffix(".json"))
    for model in ("gptoss-ref", "gptoss-tt"):
        [folder] = list((run_dir / model).iterdir())  # lm-eval's <model name sanitized> folder
        [results_file] = folder.glob("results_*.json")
        data = json.loads(results_file.read_text())
        assert {"results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config",
                "task_hashes", "model_name"} <= set(data)
        assert data["config"]["model"] == model and data["config"]["limit"] == 2
        assert data["n-samples"]["gptoss_tiny_copy_gen"] == {"original": 200, "effective": 2}
        for task in ("gptoss_tiny_copy_mc", "gptoss_tiny_copy_gen"):
            lines = next(folder.glob(f"samples_{task}_*.jsonl")).read_text().splitlines()
            assert [json.loads(x)["doc_id"] for x in lines] == [0, 1]
        # The stored run holds the same numbers lm-eval wrote (the device's before the test halved them).
        side = "reference" if model == "gptoss-ref" else "device"
        stored = {r.task_metric: r.value for r in result.rows_of("task_score", side=side, task="gptoss_tiny_copy_mc")}
        factor = 1 if side == "reference" else 0.5
        assert stored["acc"] == pytest.approx(data["results"]["gptoss_tiny_copy_mc"]["acc,none"] * factor)
    assert str(run_dir / "gptoss-ref") in out and "verdict fail" in out


def test_table_lists_both_tasks_with_stderr(failing_run):
    _, (_, out, _) = failing_run
    table = out[out.index("eval gptoss_tiny_copy_mc+gptoss_tiny_copy_gen on 1x1"):out.index("lm-eval results:")]
    lines = table.splitlines()
    assert max(map(len, lines)) <= 80
    rows = {line.split()[0]: line.split() for line in lines[4:-1]}
    assert set(rows) == {"gptoss_tiny_copy_mc", "gptoss_tiny_copy_gen"}
    assert rows["gptoss_tiny_copy_mc"][1] == "acc" and rows["gptoss_tiny_copy_mc"][-1] == "fail"
    assert "±" in rows["gptoss_tiny_copy_mc"][2] and "±" in rows["gptoss_tiny_copy_mc"][3]


def test_suite_gives_tasks_limit_tolerance_meshes_and_dtypes(tmp_path):
    from bench.cli import build_parser
    from bench.commands.eval import request_from_args

    suite = yaml.safe_load((TASKS_DIR.parent / "smoke.yaml").read_text())
    suite.update(name="tiny-tasks", meshes=["1x1", "1x8"],
                 tasks={"names": ["gptoss_tiny_qa_mc"], "limit": 2, "tolerance": 0.2, "model_args": {"batch_size": 4}})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    args = build_parser().parse_args(["eval", "--suite", str(tmp_path / "s.yaml")])
    request = request_from_args(args)
    assert request.tasks == ("gptoss_tiny_qa_mc",) and request.limit == 2 and request.tolerance == 0.2
    assert request.meshes == ("1x1", "1x8") and request.suite_name == "tiny-tasks"
    assert request.precision.expert_weights == "bfloat8_b"  # the suite's dtypes, not tt_model's default
    assert request.model_args == {"batch_size": 4}
    # The command line wins over the suite.
    args = build_parser().parse_args(["eval", "--suite", str(tmp_path / "s.yaml"), "--tasks", "gptoss_tiny_copy_mc",
                                      "--limit", "0.5", "--tolerance", "0", "--mesh", "1x8", "--batch-size", "2"])
    request = request_from_args(args)
    assert (request.tasks, request.limit, request.tolerance, request.meshes) == (("gptoss_tiny_copy_mc",), 0.5, 0, ("1x8",))
    assert request.model_args == {"batch_size": 2}
    # A suite without tasks still gives model, meshes and dtypes to --tasks.
    request = request_from_args(build_parser().parse_args(["eval", "--suite", "smoke", "--tasks", "gptoss_tiny"]))
    assert request.tasks == ("gptoss_tiny",) and request.meshes == ("1x8",) and request.suite_name == "smoke"


def test_unknown_task_names_the_closest(monkeypatch):
    """The message for a name that is neither ours nor lm-eval's (lm-eval's own catalogue is replaced by
    ours here: indexing its thousands of YAMLs is what the slow test does)."""
    import lm_eval.tasks

    from bench.lmeval.tasks import task_manager

    real = lm_eval.tasks.TaskManager
    monkeypatch.setattr(lm_eval.tasks, "TaskManager", lambda include_path, include_defaults=True: real(
        include_path=include_path, include_defaults=False))
    with pytest.raises(UserError, match=r"^unknown task 'gptoss_tiny_cpy_mc' \(did you mean 'gptoss_tiny_copy_mc'\?\); "
                                        r"shipped: gptoss_tiny"):
        task_manager(["gptoss_tiny", "gptoss_tiny_cpy_mc"])


@pytest.mark.parametrize("argv, message", [
    (["--tasks", "gptoss_tiny_qa_mc", "--model-args", "batchsize=4"],
     "error: unknown model arg 'batchsize' for gptoss-ref (did you mean 'batch_size'?)"),
    (["--tasks", "gptoss_tiny_qa_mc", "--model-args", "precision=fast"],
     "error: model arg precision='fast' for gptoss-tt: Value error, not a precision preset"),
    (["--tasks", "gptoss_tiny_qa_mc", "--model-args", "mesh=2x3"], "error: --model-args mesh: use --mesh"),
    (["--tasks", "gptoss_tiny_qa_mc", "--mesh", "3x5"], "error: mesh 3x5: num_attention_heads=16 does not split"),
    (["--tasks", "gptoss_tiny_qa_mc", "--limit", "1.5"], "error: gptoss-bench eval: argument --limit"),
    (["--tasks", "gptoss_tiny_qa_mc", "--tolerance", "1.2"], "error: --tolerance 1.2 must be in [0, 1)"),
    (["--tasks", "gptoss_tiny_qa_mc", "--apply-chat-template"],
     "error: --apply-chat-template: tiny's tokenizer has no chat template and no harmony tokens"),
    (["--tasks", "gptoss_tiny_qa_gen", "--gen-kwargs", "num_beams=4"], "error: generation kwarg(s) num_beams not"),
    ([], "error: no tasks: pass --tasks"),
    (["--suite", "smoke"], "error: suite 'smoke' lists no tasks"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, argv, message):
    code, out, err = _run(["eval", *argv, *_paths(tmp_path)])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err


def test_missing_task_data_exits_2_naming_the_file(tmp_path):
    # A copy of the shipped tasks with one data file gone, on the include path (it overrides the shipped).
    copy = tmp_path / "tasks" / "gptoss_tiny"
    shutil.copytree(TASKS_DIR / "gptoss_tiny", copy)
    (copy / "data" / "qa.test.jsonl").unlink()
    code, _, err = _run(["eval", "--tasks", "gptoss_tiny_qa_gen", "--include-path", str(tmp_path / "tasks"), *SMALL,
                         *_paths(tmp_path)])
    assert code == 2
    assert err.strip() == (f"error: task 'gptoss_tiny_qa_gen' cannot be loaded offline: "
                           f"{copy / 'data' / 'qa.test.jsonl'} is missing")


def test_dataset_missing_from_a_task_of_ones_own(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "mine.yaml").write_text(textwrap.dedent(f"""\
        task: mine
        dataset_path: json
        dataset_kwargs:
          data_files: {{test: {tmp_path / 'nowhere.jsonl'}}}
        test_split: test
        output_type: generate_until
        doc_to_text: q
        doc_to_target: a
        """))
    code, _, err = _run(["eval", "--tasks", "mine", "--include-path", str(tmp_path / "mine"), *SMALL, *_paths(tmp_path)])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: task 'mine' cannot be loaded offline:") and "nowhere.jsonl" in err
