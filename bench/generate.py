"""The generate demo: batched prompts through the TT-NN model, tokens streamed as they are decoded, and tt-metal's
performance block at the end (as its GPT-OSS text demo prints it).

GPT-OSS-vocabulary checkpoints (o200k_harmony) get the harmony chat format, rendered by openai-harmony (offline,
``reference.tokenizer_o200k``), and stop at <|return|> / <|call|>; other checkpoints (the bundled tiny model) take
the prompt as plain text and stop at their eos token.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from bench.inputs import left_pad
from bench.perf import Timed, _timed, step_stats
from ground.errors import UserError

HARMONY_VOCAB = 201088
HARMONY_STOPS = ("<|return|>", "<|call|>")


@dataclass(frozen=True)
class GenerateRequest:
    prompts: tuple[str, ...]
    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    mesh: str | None = None
    model: str | None = None
    backend: str = "auto"
    precision: str | None = None
    trace: bool = True


@dataclass
class Generation:
    texts: list[str]
    tokens: list[list[int]]
    prefill: Timed
    steps: list[Timed] = field(default_factory=list)
    harmony: bool = False
    backend: str = ""


class Stream:
    """Per user: the new tokens so far and how much of their decoded text has been emitted."""

    def __init__(self, tokenizer, users: int, skip_special: bool):
        self.tokenizer, self.skip = tokenizer, skip_special
        self.tokens = [[] for _ in range(users)]
        self.shown = [0] * users

    def push(self, user: int, token: int) -> str:
        """The text this token completes (may be empty while a multi-byte character is still open)."""
        self.tokens[user].append(token)
        text = self.tokenizer.decode(self.tokens[user], skip_special_tokens=self.skip)
        if text.endswith("\ufffd"):
            return ""
        delta, self.shown[user] = text[self.shown[user]:], len(text)
        return delta

    def text(self, user: int) -> str:
        return self.tokenizer.decode(self.tokens[user], skip_special_tokens=self.skip)


def is_harmony(checkpoint) -> bool:
    return checkpoint.config.vocab_size == HARMONY_VOCAB


def encode(checkpoint, tokenizer, prompt: str) -> list[int]:
    if is_harmony(checkpoint):
        from reference.tokenizer_o200k import render_harmony_prompt
        return render_harmony_prompt(prompt)
    return tokenizer(prompt, add_special_tokens=False)["input_ids"]


def stop_ids(checkpoint, tokenizer) -> set[int]:
    if is_harmony(checkpoint):
        return {tokenizer.convert_tokens_to_ids(t) for t in HARMONY_STOPS}
    eos = checkpoint.config.raw.get("eos_token_id")
    return set(eos if isinstance(eos, list) else [eos]) - {None}


def generate(request: GenerateRequest, emit: Callable[[int, str], None] = lambda user, text: None) -> Generation:
    import tt_model
    from ground.checkpoint import resolve_checkpoint
    from tt_model.generator import Sampling, sample

    if not request.prompts:
        raise UserError("no prompt given; pass --prompt TEXT or --prompts FILE")
    if request.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens {request.max_new_tokens}: must be at least 1")
    sampling = Sampling(request.temperature, request.top_p, request.seed)
    checkpoint = resolve_checkpoint(request.model)
    tokenizer = checkpoint.tokenizer
    rows = [encode(checkpoint, tokenizer, p) for p in request.prompts]
    if any(not r for r in rows):
        raise UserError("a prompt encodes to no tokens; give some text")
    longest = max(len(r) for r in rows) + request.max_new_tokens
    if longest > checkpoint.config.max_position_embeddings:
        raise UserError(f"prompt + --max-new-tokens = {longest} tokens exceeds the model's context of "
                        f"{checkpoint.config.max_position_embeddings}")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else checkpoint.config.raw.get("pad_token_id", 0)
    ids, mask = left_pad(rows, pad)
    stops = stop_ids(checkpoint, tokenizer)
    model = tt_model.load(checkpoint, mesh=request.mesh, backend=request.backend, precision=request.precision,
                          trace=request.trace)
    stream = Stream(tokenizer, len(rows), skip_special=not is_harmony(checkpoint))
    rng = torch.Generator().manual_seed(request.seed)
    try:
        logits, prefill = _timed(model, lambda: model.prefill(ids, mask, max_new_tokens=request.max_new_tokens))
        done = [False] * len(rows)
        steps = []
        token = sample(logits[:, -1], sampling, rng)
        for step in range(request.max_new_tokens):
            for user, t in enumerate(token.tolist()):
                if not done[user]:
                    delta = stream.push(user, t)
                    if delta:
                        emit(user, delta)
                    done[user] = t in stops
            if all(done) or step + 1 == request.max_new_tokens:
                break
            logits, timed = _timed(model, lambda: model.decode_step(token))
            steps.append(timed)
            token = sample(logits, sampling, rng)
    finally:
        model.close()
    return Generation([stream.text(u) for u in range(len(rows))], stream.tokens, prefill, steps,
                      is_harmony(checkpoint), model.backend_info["backend"])


def performance_block(gen: Generation, batch: int) -> list[str]:
    """tt-metal's block for the run: modelled device time on the emulator (and its host wall time, labelled)."""
    sources = [("device", "modelled (Wormhole cost model)" if gen.prefill.device_s is not None else "measured")]
    if gen.prefill.device_s is not None:
        sources.append(("host", "emulator host wall time, not a Wormhole time"))
    lines = []
    for clock, label in sources:
        pick = (lambda t: t.device_s) if clock == "device" and gen.prefill.device_s is not None else (lambda t: t.host_s)
        prefill_ms = pick(gen.prefill) * 1e3
        lines += [f"=== Performance Metrics ({label}) ===",
                  f"Average Time to First Token (TTFT): {prefill_ms / batch:.1f}ms"]
        measured = [pick(t) * 1e3 for t in gen.steps[1:]]  # step 0 compiles (and captures the trace)
        if measured:
            stats = step_stats(measured)
            tpsu = 1e3 / stats.mean
            lines.append(f"Average decode speed: {stats.mean:.1f}ms @ {tpsu:.1f} tok/s/user "
                         f"({tpsu * batch:.1f} tok/s throughput)")
        else:
            lines.append("Average decode speed: n/a (fewer than 2 decode steps)")
        lines.append(f"Data parallel: 1, Global batch size: {batch}")
    return lines
