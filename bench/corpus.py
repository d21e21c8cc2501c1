"""A procedural corpus of short texts with checkable answers, for the bundled tiny GPT-OSS.

Every item is a question (``prompt``) and its target continuation (``answer``, with its leading
space, the way lm-eval splits context and target), plus four ``choices`` with the gold index for
multiple-choice scoring. Families, in the spirit of "How many r's in 'strawberry'? 3":

- ``letter_count``: How many r's in 'strawberry'? 3
- ``arithmetic``:   What is 12 + 7? 19   (0-99 plus or minus 0-9; 0-99 times 0, 1 or 10)
- ``copy``:         Copy: k d m f -> k d m f
- ``sort``:         Sort: 5 2 9 -> 2 5 9
- ``qa``:           Q: What comes after 7? A: 8   (and first/last letter, larger of two)

Splits never overlap: a prompt's split is fixed by a hash of its text, not by the seed, so the
train, held-out and eval splits of any two seeds are disjoint too. The seed only picks which
prompts are drawn; the same seed gives identical output.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ground.errors import UserError

SPLITS = ("train", "heldout", "eval")
# Percent of the prompt-hash space each split owns: [start, end).
_SPLIT_BUCKETS = {"train": (0, 80), "heldout": (80, 90), "eval": (90, 100)}
N_CHOICES = 4

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "pl", "sh", "ch")
_VOWELS = ("a", "e", "i", "o", "u", "ee", "oo", "ai")
_CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "ck", "rr", "ss")
REAL_WORDS = (
    "strawberry", "banana", "apple", "cherry", "letter", "mississippi", "coffee", "balloon", "rabbit",
    "bottle", "pepper", "butter", "committee", "address", "parallel", "tomorrow", "necessary", "bookkeeper",
    "grammar", "success", "river", "garden", "window", "summer", "yellow", "kitten", "puzzle", "giraffe",
    "occurrence", "assessment", "raspberry", "blueberry", "carrot", "orange", "lemon", "melon", "paper",
    "pizza", "hello", "little", "middle", "happy", "sunny", "funny", "mirror", "terror", "error", "dinner",
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Item:
    family: str
    prompt: str          # the context, no trailing space
    answer: str          # the target continuation, with its leading space
    choices: tuple[str, ...] = field(default=())
    gold: int = 0

    @property
    def text(self) -> str:
        return self.prompt + self.answer

    def as_dict(self) -> dict:
        return {"family": self.family, "prompt": self.prompt, "answer": self.answer,
                "choices": list(self.choices), "gold": self.gold}


def split_of(prompt: str) -> str:
    """The split a prompt belongs to, whatever the seed."""
    bucket = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big") % 100
    return next(name for name, (lo, hi) in _SPLIT_BUCKETS.items() if lo <= bucket < hi)


def pseudo_words(n: int = 400, seed: int = 1234) -> list[str]:
    """Pronounceable made-up words (2-3 syllables), distinct, in a fixed order for a seed."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < n:
        syllables = rng.choice((2, 2, 3))
        words["".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables))] = None
    return list(words)


WORDS = tuple(REAL_WORDS) + tuple(pseudo_words())


def _choices(rng: random.Random, gold: str, distractors: list[str]) -> tuple[tuple[str, ...], int]:
    """Gold plus three distinct plausible distractors, shuffled; returns (choices, gold index)."""
    pool = list(dict.fromkeys(d for d in distractors if d != gold))
    picked = rng.sample(pool, N_CHOICES - 1)
    options = [gold, *picked]
    rng.shuffle(options)
    return tuple(options), options.index(gold)


def _number_distractors(value: int) -> list[str]:
    near = [value + d for d in (-2, -1, 1, 2, -10, 10, 3, -3)]
    return [f" {v}" for v in near if v >= 0]


def _letter_count(rng: random.Random) -> Item:
    word = rng.choice(WORDS)
    # Mostly letters the word holds (count >= 1), sometimes one it lacks (count 0).
    letter = rng.choice(word) if rng.random() < 0.8 else rng.choice(_LETTERS)
    count = word.count(letter)
    choices, gold = _choices(rng, f" {count}", [f" {c}" for c in range(0, max(count + 3, 5))])
    return Item("letter_count", f"How many {letter}'s in '{word}'?", f" {count}", choices, gold)


def _arithmetic(rng: random.Random) -> Item:
    # Every eval prompt is unseen in training (splits are disjoint), so each kind must follow a rule
    # a small model can learn from other instances: digit-wise carries and borrows, and products by
    # 0, 1 and 10. Memorised facts such as times tables cannot transfer to unseen prompts.
    op = rng.choice("+-*")
    a = rng.randint(0, 99)
    if op == "*":
        b = rng.choice((0, 1, 10))
        value = a * b
    else:
        b = rng.randint(0, 9)
        if op == "-" and b > a:
            a, b = b, a
        value = a + b if op == "+" else a - b
    if op != "-" and rng.random() < 0.5:
        a, b = b, a
    choices, gold = _choices(rng, f" {value}", _number_distractors(value))
    return Item("arithmetic", f"What is {a} {op} {b}?", f" {value}", choices, gold)


def _random_list(rng: random.Random) -> list[str]:
    n = rng.randint(3, 6)
    alphabet = "0123456789" if rng.random() < 0.5 else _LETTERS
    return rng.sample(alphabet, n)


def _list_distractors(rng: random.Random, target: list[str], source: list[str]) -> list[str]:
    """Same symbols in other orders, or one symbol swapped for another: as long as the target."""
    out = [source, list(reversed(target)), sorted(target, reverse=True)]
    for _ in range(6):
        perm = target[:]
        rng.shuffle(perm)
        out.append(perm)
        changed = target[:]
        changed[rng.randrange(len(changed))] = rng.choice("0123456789" if target[0].isdigit() else _LETTERS)
        out.append(changed)
    return [" " + " ".join(x) for x in out]


def _copy(rng: random.Random) -> Item:
    xs = _random_list(rng)
    answer = " " + " ".join(xs)
    choices, gold = _choices(rng, answer, _list_distractors(rng, xs, sorted(xs)))
    return Item("copy", f"Copy: {' '.join(xs)} ->", answer, choices, gold)


def _sort(rng: random.Random) -> Item:
    xs = _random_list(rng)
    target = sorted(xs)
    answer = " " + " ".join(target)
    choices, gold = _choices(rng, answer, _list_distractors(rng, target, xs))
    return Item("sort", f"Sort: {' '.join(xs)} ->", answer, choices, gold)


def _qa(rng: random.Random) -> Item:
    kind = rng.randrange(4)
    if kind == 0:
        n = rng.randint(0, 98)
        prompt, answer, distractors = f"Q: What comes after {n}? A:", f" {n + 1}", _number_distractors(n + 1) + [f" {n}"]
    elif kind == 1:
        a, b = rng.sample(range(100), 2)
        prompt, answer = f"Q: Which is larger, {a} or {b}? A:", f" {max(a, b)}"
        distractors = [f" {min(a, b)}"] + _number_distractors(max(a, b))
    else:
        word = rng.choice(WORDS)
        which = "first" if kind == 2 else "last"
        letter = word[0] if kind == 2 else word[-1]
        prompt, answer = f"Q: What is the {which} letter of '{word}'? A:", f" {letter}"
        distractors = [f" {c}" for c in dict.fromkeys(word + _LETTERS)]
    choices, gold = _choices(rng, answer, distractors)
    return Item("qa", prompt, answer, choices, gold)


FAMILIES: dict[str, Callable[[random.Random], Item]] = {
    "letter_count": _letter_count,
    "arithmetic": _arithmetic,
    "copy": _copy,
    "sort": _sort,
    "qa": _qa,
}


def _split_seed(seed: int, split: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{split}".encode()).digest()[:8], "big")


def iter_items(split: str, seed: int = 0, families: tuple[str, ...] | None = None,
               distinct: bool = True) -> Iterator[Item]:
    """Stream of items of one split, families in round-robin order.

    ``distinct`` streams never repeat a prompt, so small families run dry and drop out of the mix
    (right for evaluation). Training wants ``distinct=False``: an endless stream whose family mix
    never drifts; a model trained on a drifting mix forgets the families that ran out.
    """
    if split not in SPLITS:
        raise UserError(f"corpus split {split!r} is unknown; expected one of {', '.join(SPLITS)}")
    families = tuple(families or FAMILIES)
    for name in families:
        if name not in FAMILIES:
            raise UserError(f"corpus family {name!r} is unknown; expected one of {', '.join(FAMILIES)}")
    rng = random.Random(_split_seed(seed, split))
    seen: set[str] = set()
    # Small families (e.g. 'What comes after n?') run dry; give up on them after many misses.
    misses = dict.fromkeys(families, 0)
    while True:
        live = [f for f in families if misses[f] < 2000]
        if not live:
            return
        for name in live:
            while misses[name] < 2000:
                item = FAMILIES[name](rng)
                if (not distinct or item.prompt not in seen) and split_of(item.prompt) == split:
                    if distinct:  # an endless stream must not grow a set of every prompt it made
                        seen.add(item.prompt)
                    misses[name] = 0
                    yield item
                    break
                misses[name] += 1


def generate(split: str, n: int, seed: int = 0, families: tuple[str, ...] | None = None) -> list[Item]:
    """The first ``n`` items of a split (fewer only if the families run out of distinct prompts)."""
    if n < 0:
        raise UserError(f"corpus item count {n} is negative; expected a count >= 0")
    out: list[Item] = []
    for item in iter_items(split, seed, families):
        if len(out) == n:
            break
        out.append(item)
    return out
