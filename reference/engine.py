"""Runs chunks of tokens of one or more sequences through the decoder layers, layer by layer.

A *pass* visits every layer once and pushes each sequence's chunk through it: attention per
sequence (each has its own mask, positions and, for greedy decode, KV cache), then one MoE call over
the tokens of all sequences, so a routed expert is dequantized once per layer visit whatever the
number of sequences. A chunk is the prefill, or the prefill plus every forced decode token at
once, or one greedy decode token; its positions are cut into capture phases (``prefill``,
``decode_0``, ...) and every field of ``ground.captures`` is sliced into them, so a forced
sequence run in one pass fills the same structure as step-by-step decoding.

This is HF's ``GptOssDecoderLayer.forward`` taken apart at its residual adds (the modules and
their maths are HF's), plus HF's own mask builders and ``DynamicCache``. Left padding: position
ids skip pads as HF generate does; masks and the sliding window work on cache indices, as in HF.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ground.captures import Captures, decode_phase
from reference.layers import Embedding, LmHead, owned, release_mappings


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip left padding (the convention of HF generate; tt_model uses it too)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


@dataclass(frozen=True)
class Segment:
    """Positions [start, stop) of a chunk that form one capture phase."""

    phase: str
    start: int
    stop: int


class Sequence:
    """One request in flight: the mask of the tokens it has seen, its KV cache (only when decode
    steps follow), and its captures."""

    def __init__(self, config, batch: int, capture_layers: bool, keep_cache: bool):
        from transformers import DynamicCache

        self.mask = torch.zeros(batch, 0, dtype=torch.long)
        self.cache = DynamicCache(config=config) if keep_cache else None
        self.captures = Captures()
        self.capture_layers = capture_layers


@dataclass
class Chunk:
    sequence: Sequence
    tokens: torch.Tensor      # [B, n]
    mask: torch.Tensor        # [B, n]: 0 on left padding
    segments: list[Segment]
    last_logits: torch.Tensor | None = None  # [B, V] after the pass: logits of the chunk's last position


def prefill_segments(length: int, forced_steps: int) -> list[Segment]:
    """The prompt, then one phase per forced decode token that follows it in the same chunk."""
    return [Segment("prefill", 0, length)] + [Segment(decode_phase(t), length + t, length + t + 1)
                                               for t in range(forced_steps)]


@dataclass
class _State:
    hidden: torch.Tensor
    rope: tuple[torch.Tensor, torch.Tensor]
    masks: dict[str, torch.Tensor | None]
    fields: dict[str, torch.Tensor] = field(default_factory=dict)


@functools.cache
def _mask_cache_keyword() -> str:
    """transformers 5 renamed the mask builders' ``past_key_values`` to ``cache``."""
    from transformers.masking_utils import create_causal_mask

    return "cache" if "cache" in inspect.signature(create_causal_mask).parameters else "past_key_values"


class Engine:
    """Holds what every pass shares: config, rotary tables, final norm, embedding and lm_head."""

    def __init__(self, builder, head: LmHead):
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssRMSNorm, GptOssRotaryEmbedding

        self.builder = builder
        self.config = builder.config
        self.dtype = builder.dtype
        self.rotary = GptOssRotaryEmbedding(self.config)
        self.norm = GptOssRMSNorm(self.config.hidden_size, eps=self.config.rms_norm_eps)
        self.norm.weight.data = owned(builder.reader.get("model.norm.weight"), self.dtype)
        self.embed = Embedding(builder.reader, self.dtype)
        self.head = head

    @torch.no_grad()
    def run(self, chunks: list[Chunk], layers, on_layer: Callable[[int], None] = lambda index: None) -> None:
        """One pass: every chunk through every layer, then the final norm and lm_head. ``on_layer(i)``
        after each layer, ``on_layer(num_layers)`` after the head."""
        states = [self.start(chunk) for chunk in chunks]
        for index in range(self.config.num_hidden_layers):
            layer = layers.get(index)
            self._layer(layer, index, chunks, states)
            release_mappings(self.builder.reader)  # the layer is dropped below; kept layers hold copies
            del layer
            on_layer(index)
        self._finish(chunks, states)
        on_layer(self.config.num_hidden_layers)

    def start(self, chunk: Chunk) -> _State:
        from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

        sequence = chunk.sequence
        sequence.mask = torch.cat([sequence.mask, chunk.mask.long()], dim=1)
        hidden = self.embed(chunk.tokens)
        position_ids = positions(sequence.mask)[:, -chunk.tokens.shape[1]:]
        # Masks see the cache as it was before this chunk: built before any layer updates it.
        kwargs = {"config": self.config, "inputs_embeds": hidden, "attention_mask": sequence.mask,
                  _mask_cache_keyword(): sequence.cache}
        masks = {"full_attention": create_causal_mask(**kwargs),
                 "sliding_attention": create_sliding_window_causal_mask(**kwargs)}
        return _State(hidden, self.rotary(hidden, position_ids), masks)

    def _layer(self, layer, index: int, chunks: list[Chunk], states: list[_State]) -> None:
        kind = self.config.layer_types[index]
        for chunk, state in zip(chunks, states):
            state.fields = self.attention(layer, state.hidden, state.rope, state.masks[kind], chunk.sequence.cache)
        # The MoE over every sequence's tokens at once: each routed expert is fetched once per visit.
        hidden_size = self.config.hidden_size
        flat = torch.cat([s.fields["mlp_norm"].reshape(-1, hidden_size) for s in states])
        router_logits, scores, indices = layer.mlp.router(flat)
        moe = layer.mlp.experts(flat, indices, scores)
        offset = 0
        for chunk, state in zip(chunks, states):
            b, n = chunk.tokens.shape
            rows = slice(offset, offset + b * n)
            offset += b * n
            state.fields.update(router_logits=router_logits[rows].reshape(b, n, -1),
                                topk_weights=scores[rows].reshape(b, n, -1),
                                topk_ids=indices[rows].reshape(b, n, -1),
                                moe_out=moe[rows].reshape(b, n, hidden_size))
            state.hidden = state.fields["layer_out"] = state.fields["resid_attn"] + state.fields["moe_out"]
            if chunk.sequence.capture_layers:
                self._store_layer(chunk, index, state.fields)
            state.fields = {}

    @staticmethod
    def attention(layer, x, rope, mask, cache) -> dict[str, torch.Tensor]:
        """The attention half of a decoder layer (HF's order of operations), with its captures."""
        normed = layer.input_layernorm(x)
        attn, _ = layer.self_attn(normed, rope, mask, cache)
        resid = x + attn
        return {"layer_in": x, "attn_norm": normed, "attn_out": attn, "resid_attn": resid,
                "mlp_norm": layer.post_attention_layernorm(resid)}

    @staticmethod
    def _store_layer(chunk: Chunk, index: int, fields: dict[str, torch.Tensor]) -> None:
        for segment in chunk.segments:
            store = chunk.sequence.captures.phase(segment.phase).layer(index)
            for name, tensor in fields.items():
                part = tensor[:, segment.start:segment.stop]
                store[name] = part.long().clone() if name == "topk_ids" else part.float().clone()

    def _finish(self, chunks: list[Chunk], states: list[_State]) -> None:
        hidden_size = self.config.hidden_size
        normed = [self.norm(state.hidden) for state in states]
        logits = [torch.empty(*c.tokens.shape, self.head.vocab, dtype=torch.float32) for c in chunks]
        for start, part in self.head(torch.cat([f.reshape(-1, hidden_size) for f in normed])):
            offset = 0
            for chunk, out in zip(chunks, logits):
                b, n = chunk.tokens.shape
                out[:, :, start:start + part.shape[1]] = part[offset:offset + b * n].view(b, n, -1)
                offset += b * n
        for chunk, final, full in zip(chunks, normed, logits):
            whole = len(chunk.segments) == 1 and chunk.segments[0].stop - chunk.segments[0].start == full.shape[1]
            for segment in chunk.segments:
                phase = chunk.sequence.captures.phase(segment.phase)
                phase.model["final_norm"] = final[:, segment.start:segment.stop].float().clone()
                phase.model["logits"] = full if whole else full[:, segment.start:segment.stop].clone()
            chunk.last_logits = full[:, -1]
