import re

import pytest

from bench.corpus import FAMILIES, N_CHOICES, SPLITS, generate, split_of
from ground.errors import UserError

N = 1500


@pytest.fixture(scope="module")
def splits():
    return {s: generate(s, N, seed=0) for s in SPLITS}


def test_same_seed_same_items():
    assert generate("eval", 300, seed=7) == generate("eval", 300, seed=7)
    assert generate("eval", 300, seed=7) != generate("eval", 300, seed=8)


def test_splits_do_not_overlap_within_or_across_seeds(splits):
    prompts = {s: {item.prompt for item in items} for s, items in splits.items()}
    assert all(len(prompts[s]) == N for s in SPLITS)  # no duplicates inside a split
    other_seed = {item.prompt for item in generate("train", N, seed=1)}
    assert not prompts["train"] & prompts["heldout"]
    assert not prompts["train"] & prompts["eval"]
    assert not prompts["heldout"] & prompts["eval"]
    assert not other_seed & (prompts["heldout"] | prompts["eval"])
    assert all(split_of(item.prompt) == s for s, items in splits.items() for item in items)


def test_every_family_in_every_split(splits):
    for items in splits.values():
        assert {item.family for item in items} == set(FAMILIES)


def test_choices_are_distinct_with_gold_at_its_index(splits):
    for item in splits["eval"]:
        assert len(item.choices) == N_CHOICES and len(set(item.choices)) == N_CHOICES
        assert item.choices[item.gold] == item.answer
        assert item.answer.startswith(" ") and not item.prompt.endswith(" ")
        assert item.text == item.prompt + item.answer
    assert item.as_dict()["gold"] == item.gold


def test_answers_are_right(splits):
    checked = 0
    for item in splits["eval"] + splits["train"][:300]:
        if m := re.fullmatch(r"How many (\w)'s in '(\w+)'\?", item.prompt):
            assert int(item.answer) == m[2].count(m[1])
        elif m := re.fullmatch(r"What is (\d+) ([-+*]) (\d+)\?", item.prompt):
            assert int(item.answer) == eval(f"{m[1]} {m[2]} {m[3]}")  # digits and one operator only
            assert int(item.answer) >= 0
            # Only rule-following kinds: an unseen eval prompt must be answerable from other instances.
            small = {"*": (0, 1, 10)}.get(m[2], range(10))
            assert int(m[1]) in small or int(m[3]) in small, item.prompt
        elif m := re.fullmatch(r"Sort: ([\w ]+) ->", item.prompt):
            assert item.answer.split() == sorted(m[1].split())
        elif m := re.fullmatch(r"Copy: ([\w ]+) ->", item.prompt):
            assert item.answer == " " + m[1]
        elif m := re.fullmatch(r"Q: What comes after (\d+)\? A:", item.prompt):
            assert int(item.answer) == int(m[1]) + 1
        elif m := re.fullmatch(r"Q: Which is larger, (\d+) or (\d+)\? A:", item.prompt):
            assert int(item.answer) == max(int(m[1]), int(m[2]))
        elif m := re.fullmatch(r"Q: What is the (first|last) letter of '(\w+)'\? A:", item.prompt):
            assert item.answer == " " + m[2][0 if m[1] == "first" else -1]
        else:
            pytest.fail(f"unexpected prompt {item.prompt!r}")
        checked += 1
    assert checked == N + 300


def test_numeric_distractors_are_near_the_answer(splits):
    for item in splits["eval"]:
        if item.family == "arithmetic":
            assert all(abs(int(c) - int(item.answer)) <= 10 for c in item.choices)


def test_strawberry_is_in_the_word_list():
    from bench.corpus import WORDS

    assert "strawberry" in WORDS and len(WORDS) == len(set(WORDS)) > 400


def test_bad_split_and_family_are_user_errors():
    with pytest.raises(UserError, match="'test'.*train, heldout, eval"):
        generate("test", 3)
    with pytest.raises(UserError, match="'poetry'"):
        generate("eval", 3, families=("poetry",))


def test_training_stream_keeps_its_family_mix_where_distinct_items_run_dry():
    from collections import Counter
    from itertools import islice

    from bench.corpus import iter_items

    # Arithmetic has ~2.9k distinct train prompts: a distinct stream runs dry of it early on.
    distinct = Counter(i.family for i in islice(iter_items("train", 0), 25_000))
    assert distinct["arithmetic"] < 3_500 and distinct["copy"] > 5_000
    mixed = list(islice(iter_items("train", 0, distinct=False), 25_000))
    assert Counter(i.family for i in mixed) == dict.fromkeys(FAMILIES, 5_000)
    assert all(split_of(i.prompt) == "train" for i in mixed[-1000:])
