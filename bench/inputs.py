"""Token inputs of an accuracy run: the suite's prompts cut to each prefill length, and the
teacher-forcing text, all from the model's own tokenizer. Also the left-padded batch that generate
and lm-eval's sides feed a model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.suite import LoadedSuite, Prompt
from ground.checkpoint import Checkpoint, resolve_checkpoint
from ground.errors import UserError

# Text used to lengthen a prompt that is shorter than the prefill length: the corpus's held-out
# split, so the continuation is natural text for the bundled model and never its training data.
FILL_SPLIT = "heldout"


@dataclass(frozen=True)
class TeacherForcingInput:
    source: str            # "greedy" (the reference's own continuation) or a corpus split / file name
    context: torch.Tensor  # [B, P] prefilled before forcing
    forced: torch.Tensor | None  # [B, T] tokens fed one by one; None: the reference's greedy choices


def resolve_model(override: str | None, loaded: LoadedSuite) -> Checkpoint:
    """The checkpoint of a run: ``--model``, else ``$HF_MODEL``, else the suite's model."""
    return resolve_checkpoint(override, loaded.suite.model, loaded.source.parent)


def bos_id(tokenizer) -> int | None:
    """GPT-OSS's tokenizer has a BOS token; the tiny one starts documents with <|endoftext|>."""
    if tokenizer.bos_token_id is not None:
        return tokenizer.bos_token_id
    token = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return token if token != tokenizer.unk_token_id else None


def encode(tokenizer, text: str, with_bos: bool = True) -> list[int]:
    ids = tokenizer.encode(text, add_special_tokens=False)
    bos = bos_id(tokenizer) if with_bos else None
    return ([bos] if bos is not None else []) + ids


def _read(loaded: LoadedSuite, relative: str, what: str) -> str:
    path = loaded.resolve(relative)
    try:
        return path.read_text()
    except OSError as exc:
        raise UserError(f"suite {loaded.suite.name!r}: {what} {str(path)!r} cannot be read ({exc.strerror})") from None


def prompt_tokens(loaded: LoadedSuite, prompt: Prompt, tokenizer) -> list[int]:
    if prompt.tokens_file is not None:
        try:
            ids = json.loads(_read(loaded, prompt.tokens_file, "tokens_file"))
        except ValueError as exc:
            raise UserError(f"tokens_file {prompt.tokens_file!r} is not a JSON list of token ids ({exc})") from None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and 0 <= i < len(tokenizer) for i in ids):
            raise UserError(f"tokens_file {prompt.tokens_file!r}: expected a non-empty JSON list of ids in [0, {len(tokenizer)})")
        return ids
    text = prompt.text if prompt.text is not None else _read(loaded, prompt.text_file, "text_file")
    return encode(tokenizer, text)


def corpus_tokens(tokenizer, split: str, count: int, seed: int = 0) -> list[int]:
    """At least ``count`` tokens of corpus text: BOS, then whole items one per line."""
    from bench.corpus import iter_items

    ids = encode(tokenizer, "")
    for item in iter_items(split, seed=seed):
        if len(ids) >= count:
            break
        ids += tokenizer.encode(item.text + "\n", add_special_tokens=False)
    if len(ids) < count:
        raise UserError(f"corpus split {split!r} ran out after {len(ids)} tokens; expected {count}")
    return ids


def prompt_batch(loaded: LoadedSuite, tokenizer, length: int) -> torch.Tensor:
    """[batch_size, length]: the suite's prompts in turn, each cut or lengthened (with held-out corpus text)
    to exactly ``length`` tokens, so every row is a real prompt of the prefill length under test."""
    suite = loaded.suite
    rows = []
    for row in range(suite.batch_size):
        ids = prompt_tokens(loaded, suite.prompts[row % len(suite.prompts)], tokenizer)
        if len(ids) < length:  # [1:]: the fill continues the prompt, it does not start a new document
            ids += corpus_tokens(tokenizer, FILL_SPLIT, length - len(ids) + 1, seed=row)[1:]
        rows.append(ids[:length])
    return torch.tensor(rows, dtype=torch.long)


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, S] ids and 0/1 mask, every row ending at the last column."""
    width = max(map(len, rows))
    ids = torch.tensor([[pad_id] * (width - len(r)) + list(r) for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
    return ids, mask


def teacher_forcing_inputs(loaded: LoadedSuite, tokenizer) -> list[TeacherForcingInput]:
    """Two sources, like tt-metal's accuracy demo: the reference's own greedy continuation of the first
    prompt, and fixed text (a corpus split or a file) the model never generated."""
    tf = loaded.suite.teacher_forcing
    context_len = tf.segment
    first_prompt = prompt_batch(loaded, tokenizer, context_len)[:1]
    sources = [TeacherForcingInput("greedy", first_prompt, None)]
    if tf.text_file is not None:
        ids = encode(tokenizer, _read(loaded, tf.text_file, "teacher_forcing.text_file"))
        name = Path(tf.text_file).name
        if len(ids) < context_len + tf.tokens:
            raise UserError(f"teacher_forcing.text_file {tf.text_file!r} has {len(ids)} tokens; expected at least "
                            f"{context_len + tf.tokens} (segment + tokens)")
    elif tf.corpus is not None:
        ids, name = corpus_tokens(tokenizer, tf.corpus, context_len + tf.tokens), tf.corpus
    else:
        return sources
    window = torch.tensor([ids[: context_len + tf.tokens]], dtype=torch.long)
    sources.append(TeacherForcingInput(name, window[:, :context_len], window[:, context_len:]))
    return sources
