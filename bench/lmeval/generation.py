"""generate_until for both sides: gen_kwargs, greedy or sampled tokens, stop strings applied here.

lm-eval hands a custom model its ``until`` strings and leaves them to it, so a batch decodes until
every row has produced a stop string or an end-of-sequence token, or ``max_gen_toks`` tokens; the
text returned ends before the first stop string.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ground.errors import UserError

# lm-eval names for the generation limit, in the order lm-eval itself prefers them.
_MAX_TOKENS = ("max_gen_toks", "max_new_tokens", "max_tokens", "max_completion_tokens")
_KNOWN = {"until", "do_sample", "temperature", "top_p", "top_k", "seed", *_MAX_TOKENS}


@dataclass(frozen=True)
class GenSpec:
    until: tuple[str, ...]
    max_new: int
    temperature: float = 0.0   # 0: greedy
    top_p: float = 1.0
    top_k: int = 0             # 0: no top-k cut
    seed: int = 1234

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def gen_spec(kwargs: dict, default_max: int, seed: int) -> GenSpec:
    """A task's generation_kwargs (plus --gen_kwargs) as a GenSpec; an unsupported key is an error,
    never silently ignored."""
    unknown = sorted(set(kwargs) - _KNOWN)
    if unknown:
        raise UserError(f"generation kwarg(s) {', '.join(unknown)} not supported; supported: {', '.join(sorted(_KNOWN))}")
    until = kwargs.get("until") or []
    until = (until,) if isinstance(until, str) else tuple(until)
    if not all(isinstance(s, str) for s in until):
        raise UserError(f"generation kwarg until={kwargs.get('until')!r}: expected a string or a list of strings")
    try:
        max_new = next((int(kwargs[k]) for k in _MAX_TOKENS if kwargs.get(k) is not None), default_max)
    except (TypeError, ValueError):
        raise UserError(f"generation kwargs {kwargs}: the token limit is not a whole number") from None
    try:
        # As lm-eval normalises gen_kwargs: tokens are sampled only when do_sample is true.
        temperature = 0.0
        if kwargs.get("do_sample"):
            temperature = 1.0 if kwargs.get("temperature") is None else float(kwargs["temperature"])
        return GenSpec(until=until, max_new=max_new, temperature=temperature, top_p=float(kwargs.get("top_p") or 1.0),
                       top_k=int(kwargs.get("top_k") or 0), seed=int(kwargs.get("seed", seed)))
    except (TypeError, ValueError) as exc:
        raise UserError(f"generation kwargs {kwargs}: {exc}") from None


def pick(logits: torch.Tensor, spec: GenSpec, rng: torch.Generator) -> torch.Tensor:
    """Next tokens [B] from logits [B, V]."""
    if spec.greedy:
        return logits.argmax(-1)
    logits = logits.float() / spec.temperature
    if spec.top_k > 0:
        kth = logits.topk(min(spec.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(-1)
    if spec.top_p < 1.0:
        sorted_p, order = probs.sort(-1, descending=True)
        drop = sorted_p.cumsum(-1) - sorted_p >= spec.top_p  # keeps the most likely token always
        probs = probs.scatter(-1, order, sorted_p.masked_fill(drop, 0.0))
    return torch.multinomial(probs, 1, generator=rng)[:, 0]


def cut(text: str, until: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` up to its first stop string, and whether one was found."""
    ends = [i for i in (text.find(s) for s in until if s) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


def generate_batch(side, prompts: list[list[int]], spec: GenSpec, decode, stop_ids: set[int], pad_id: int
                   ) -> list[str]:
    """Decodes a batch of prompts together until each row stops; ``decode(ids) -> str``."""
    rng = torch.Generator().manual_seed(spec.seed)
    logits = side.start(prompts, spec.max_new, pad_id)
    tokens: list[list[int]] = [[] for _ in prompts]
    texts: list[str | None] = [None] * len(prompts)  # set when a row has stopped
    for step in range(spec.max_new):
        chosen = pick(logits, spec, rng).tolist()
        for row, token in enumerate(chosen):
            if texts[row] is not None:
                continue
            if token in stop_ids:
                texts[row] = cut(decode(tokens[row]), spec.until)[0]
                continue
            tokens[row].append(token)
            text, stopped = cut(decode(tokens[row]), spec.until)
            if stopped:
                texts[row] = text
        if all(t is not None for t in texts) or step + 1 == spec.max_new:
            break
        logits = side.step(torch.tensor(chosen, dtype=torch.long))
    return [t if t is not None else cut(decode(toks), spec.until)[0] for t, toks in zip(texts, tokens)]
