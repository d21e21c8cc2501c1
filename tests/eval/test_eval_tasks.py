"""The shipped gptoss_tiny tasks: generated from the corpus, committed, loadable from anywhere."""

import json
import os

import pytest

from bench import eval_taskgen
from bench.corpus import FAMILIES, generate, split_of
from bench.lmeval import TASKS_DIR

TASK_DIR = TASKS_DIR / "gptoss_tiny"


def test_regenerating_gives_the_committed_files():
    generated = eval_taskgen.files()
    for relative, text in generated.items():
        assert (TASK_DIR / relative).read_text() == text, f"{relative} differs: run python -m bench.eval_taskgen"
    on_disk = {str(p.relative_to(TASK_DIR)) for p in TASK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk - set(generated) == {"loader.py"}  # the one hand-written file
    assert len(generated) == 1 + 2 * len(FAMILIES) * 2


def test_group_runs_one_mc_and_one_gen_task_per_family(shipped_tasks):
    loaded = shipped_tasks.load(["gptoss_tiny"])
    expected = [f"gptoss_tiny_{f}_{kind}" for kind in ("mc", "gen") for f in FAMILIES]
    assert loaded["group_map"] == {"gptoss_tiny": expected}
    assert sorted(loaded["tasks"]) == sorted(expected)
    types = {name: task.get_config("output_type") for name, task in loaded["tasks"].items()}
    assert {types[f"gptoss_tiny_{f}_mc"] for f in FAMILIES} == {"multiple_choice"}
    assert {types[f"gptoss_tiny_{f}_gen"] for f in FAMILIES} == {"generate_until"}
    assert shipped_tasks.load(["gptoss_tiny_mc"])["tasks"].keys() == {f"gptoss_tiny_{f}_mc" for f in FAMILIES}


def test_tasks_load_from_any_working_directory(tmp_path, shipped_tasks):
    # lm-eval resolves relative data_files against the cwd; the loader finds its data from anywhere.
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        task = shipped_tasks.load(["gptoss_tiny_arithmetic_mc"])["tasks"]["gptoss_tiny_arithmetic_mc"]
    finally:
        os.chdir(cwd)
    docs = list(task.test_docs())
    assert len(docs) == eval_taskgen.TEST_DOCS and len(list(task.fewshot_docs())) == eval_taskgen.FEWSHOT_DOCS
    assert task.doc_to_text(docs[0]) == "What is 24 - 9?"
    assert task.doc_to_choice(docs[0]) == ["17", "16", "14", "15"] and task.doc_to_target(docs[0]) == 3


def test_requests_are_the_corpus_items_tests_score():
    """With lm-eval's target delimiter, each MC request is (prompt, ' choice') exactly as the corpus
    splits context and answer; the first 40 per family are tests/test_tiny_model.py's items."""
    items = generate("eval", 200, seed=0)
    for family in FAMILIES:
        docs = [json.loads(line) for line in (TASK_DIR / "data" / f"{family}.test.jsonl").read_text().splitlines()]
        mine = [it for it in items if it.family == family]
        assert len(mine) == 40
        for doc, item in zip(docs, mine):
            assert (doc["prompt"], " " + doc["answer"]) == (item.prompt, item.answer)
            assert [" " + c for c in doc["choices"]] == list(item.choices) and doc["gold"] == item.gold


@pytest.mark.parametrize("family", FAMILIES)
def test_test_docs_are_eval_split_and_fewshot_docs_heldout(family):
    test = [json.loads(x) for x in (TASK_DIR / "data" / f"{family}.test.jsonl").read_text().splitlines()]
    shots = [json.loads(x) for x in (TASK_DIR / "data" / f"{family}.fewshot.jsonl").read_text().splitlines()]
    assert {split_of(d["prompt"]) for d in test} == {"eval"}
    assert {split_of(d["prompt"]) for d in shots} == {"heldout"}
    assert len({d["prompt"] for d in test}) == len(test) == 200
    assert all(d["choices"][d["gold"]] == d["answer"] for d in test + shots)


def test_fewshot_context_uses_heldout_examples_one_per_line(shipped_tasks):
    task = shipped_tasks.load(["gptoss_tiny_copy_gen"])["tasks"]["gptoss_tiny_copy_gen"]
    task.set_config("num_fewshot", 2)
    task.set_fewshot_seed(1234)
    doc = next(iter(task.test_docs()))
    context = task.fewshot_context(doc, num_fewshot=2)
    lines = context.split("\n")
    assert len(lines) == 3 and lines[-1] == doc["prompt"]
    assert all(split_of(line.rsplit(" -> ", 1)[0] + " ->") == "heldout" for line in lines[:2])
