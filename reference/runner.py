"""Runs the HF CPU reference over a prompt batch (prefill, then decode steps) and returns its
captures, from the cache when the same run was done before."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import torch

from ground.captures import Captures, decode_phase
from ground.checkpoint import Checkpoint
from ground.errors import UserError
from reference import refcache
from reference.hooks import CaptureHooks

MODES = ("whole", "stream")


class WholeModelForward:
    def __init__(self, checkpoint: Checkpoint, dtype: torch.dtype, hooks: CaptureHooks):
        from transformers import DynamicCache

        from reference.loader import load_hf_model

        self.model = load_hf_model(checkpoint, dtype)
        hooks.attach_model(self.model)
        self.cache = DynamicCache(config=self.model.config)

    @torch.no_grad()
    def __call__(self, input_ids, attention_mask, position_ids) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=self.cache, use_cache=True)
        return out.logits


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip left padding (the convention of HF generate; tt_model uses it too)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def _validate(input_ids, attention_mask, decode_steps, decode_tokens, mode):
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise UserError(f"input_ids must be [batch, seq] with seq >= 1, got shape {tuple(input_ids.shape)}")
    if attention_mask is not None and attention_mask.shape != input_ids.shape:
        raise UserError(f"attention_mask shape {tuple(attention_mask.shape)} does not match input_ids {tuple(input_ids.shape)}")
    if decode_steps < 0:
        raise UserError(f"decode steps must be >= 0, got {decode_steps}")
    if decode_tokens is not None and decode_tokens.shape != (input_ids.shape[0], decode_steps):
        raise UserError(f"decode_tokens shape {tuple(decode_tokens.shape)}; expected ({input_ids.shape[0]}, {decode_steps})")
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is not one of {', '.join(MODES)}")


def run_reference(
    checkpoint: Checkpoint,
    input_ids: torch.Tensor,
    decode_steps: int = 0,
    decode_tokens: torch.Tensor | None = None,
    mode: str = "whole",
    attention_mask: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    use_cache: bool = True,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> Captures:
    """Prefill ``input_ids`` [B, S], then ``decode_steps`` single-token steps fed with
    ``decode_tokens`` [B, steps] if given, else the reference's own greedy choices. The tokens fed
    come back as data in ``captures.tokens``."""
    _validate(input_ids, attention_mask, decode_steps, decode_tokens, mode)
    key = refcache.cache_key(checkpoint, mode, input_ids, attention_mask, decode_steps, decode_tokens, dtype)
    if use_cache and (cached := refcache.load(key)) is not None:
        log(f"reference cache hit {key}")
        return cached
    log(f"reference cache miss {key}")
    start = time.perf_counter()
    captures = Captures()
    hooks = CaptureHooks(captures)
    forward = (WholeModelForward if mode == "whole" else _streamed())(checkpoint, dtype, hooks)
    fed = _generate(forward, hooks, input_ids, attention_mask, decode_steps, decode_tokens)
    captures.tokens.update(input_ids=input_ids.long(), decode_tokens=fed.long())
    if attention_mask is not None:
        captures.tokens["attention_mask"] = attention_mask.long()
    captures.metadata.update({
        "model_dir": str(checkpoint.path), "mode": mode, "dtype": str(dtype), "cache_key": key,
        "seconds": f"{time.perf_counter() - start:.3f}",
    })
    if use_cache:
        refcache.store(key, captures)
    return captures


def _streamed():
    from reference.streaming import StreamedForward

    return StreamedForward


def _generate(forward, hooks, input_ids, attention_mask, steps, decode_tokens) -> torch.Tensor:
    """Runs prefill and the decode steps; returns the tokens fed at each step [B, steps]."""
    mask = attention_mask.long() if attention_mask is not None else torch.ones_like(input_ids)
    hooks.phase = "prefill"
    logits = forward(input_ids, mask, positions(mask))
    fed = []
    for step in range(steps):
        token = decode_tokens[:, step] if decode_tokens is not None else logits[:, -1].argmax(-1)
        fed.append(token)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        hooks.phase = decode_phase(step)
        logits = forward(token[:, None], mask, positions(mask)[:, -1:])
    return torch.stack(fed, dim=1) if fed else torch.zeros(input_ids.shape[0], 0, dtype=torch.long)
