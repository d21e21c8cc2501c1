"""How long the reference will take and how much memory it will hold, from rates measured on this
checkpoint's first layer on this host, before the work starts.

``measure`` times the pieces of a layer visit with the reference's own code (a few seconds at
20B width): building a layer's dense weights from the checkpoint, fetching and dequantizing one
expert, an expert's matmuls per token, attention per token and per (query, key) pair, and the
lm_head. ``estimate`` adds them up over the passes a run will make. Rates depend on layer shapes
only, so rates measured on a 2-layer 20B-layout checkpoint project the published 20B and 120B.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from ground.config import ModelConfig
from reference.layers import VOCAB_CHUNK, release_mappings

GIB = 2**30
MEASURE_TOKENS = 128  # tokens of the per-token measurements: enough for the matmuls' steady rate


@dataclass(frozen=True)
class Rates:
    """Seconds, measured on layer 0 of a checkpoint with the reference's code."""

    layer_build: float      # read one layer's dense (non-expert) weights and build the HF layer
    expert_fetch: float     # read and dequantize one expert (gate_up + down), plus its weight-bound matvec
    expert_token: float     # each further token through an expert: two matmuls and the gate
    attention_token: float  # per token: norms, q/k/v/o projections, router
    attention_pair: float   # per (query, key) pair: scores, sink softmax, weighted values
    head_fetch: float       # read and convert the whole lm_head once (streamed passes)
    head_fixed: float       # lm_head floor per pass (weight traffic of a one-token matvec)
    head_token: float       # each further token through the lm_head
    load: float = 0.0       # 1-minute load average when measured
    cores: int = 1

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ChunkShape:
    batch: int
    tokens: int   # new tokens this pass
    seen: int     # tokens already in the sequence's KV cache


@dataclass(frozen=True)
class PassShape:
    label: str
    chunks: tuple[ChunkShape, ...]

    @property
    def tokens(self) -> int:
        return sum(c.batch * c.tokens for c in self.chunks)


@dataclass
class Estimate:
    """Seconds per pass and layer (the progress bar's units), setup seconds, peak bytes."""

    setup: float
    passes: list[list[float]]   # per pass: seconds of each layer visit, then of the head
    peak_bytes: int
    labels: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.setup + sum(sum(p) for p in self.passes)


def expected_experts(config: ModelConfig, tokens: int) -> float:
    """Distinct experts a layer visit routes ``tokens`` to, if picks were uniform."""
    e, k = config.num_local_experts, config.num_experts_per_tok
    return e * (1 - (1 - k / e) ** tokens)


def _kv_length(config: ModelConfig, layer: int, chunk: ChunkShape) -> int:
    """Keys each query scores against: HF's sliding cache keeps window - 1 past tokens."""
    seen = chunk.seen
    if config.is_sliding(layer) and seen:
        seen = min(seen, config.sliding_window - 1)
    return seen + chunk.tokens


def layer_seconds(config: ModelConfig, rates: Rates, layer: int, shape: PassShape, source: str) -> float:
    tokens = shape.tokens
    seconds = tokens * config.num_experts_per_tok * rates.expert_token
    if source != "whole":
        seconds += expected_experts(config, tokens) * rates.expert_fetch
    if source == "stream":
        seconds += rates.layer_build
    for chunk in shape.chunks:
        seconds += chunk.batch * chunk.tokens * (rates.attention_token
                                                + _kv_length(config, layer, chunk) * rates.attention_pair)
    return seconds


def head_seconds(rates: Rates, shape: PassShape, kept: bool) -> float:
    fetch = 0.0 if kept else rates.head_fetch
    return fetch + rates.head_fixed + max(shape.tokens - 1, 0) * rates.head_token


def keeps_head(source: str) -> bool:
    """Whether a layer source keeps the lm_head in RAM: all but streaming, which re-reads it per pass."""
    return source != "stream"


def estimate(config: ModelConfig, rates: Rates, passes: list[PassShape], source: str, peak_bytes: int = 0) -> Estimate:
    """``source``: whole | stream | resident (see reference.layers). The first visit of a kept
    layer builds it; that cost is in ``setup``."""
    layers = config.num_hidden_layers
    keep_head = keeps_head(source)
    setup = 0.0
    if source in ("whole", "resident"):
        setup = layers * rates.layer_build
        if source == "whole":
            setup += layers * config.num_local_experts * rates.expert_fetch
    if keep_head:
        setup += rates.head_fetch
    per_pass = [[layer_seconds(config, rates, i, shape, source) for i in range(layers)]
                + [head_seconds(rates, shape, keep_head)] for shape in passes]
    return Estimate(setup=setup, passes=per_pass, peak_bytes=peak_bytes, labels=[p.label for p in passes])


# ----------------------------------------------------------------------------- memory


def dense_layer_bytes(config: ModelConfig) -> int:
    """float32 bytes of one layer's non-expert weights (attention, norms, router, expert biases)."""
    h, d = config.hidden_size, config.head_dim
    q, kv = config.num_attention_heads * d, config.num_key_value_heads * d
    attention = h * (q + 2 * kv) + (q + 2 * kv) + q * h + h + config.num_attention_heads
    router = config.num_local_experts * (h + 1)
    biases = config.num_local_experts * (3 * config.intermediate_size + h)
    return 4 * (attention + router + biases + 2 * h)


def expert_values(config: ModelConfig) -> int:
    """Weights of one expert (gate_up [2I, H] + down [H, I])."""
    return 3 * config.hidden_size * config.intermediate_size


def packed_layer_bytes(config: ModelConfig) -> int:
    """One layer's experts as MXFP4 (half a byte per value, one scale byte per 32)."""
    values = config.num_local_experts * expert_values(config)
    return values // 2 + values // 32


def head_bytes(config: ModelConfig) -> int:
    return 4 * config.vocab_size * config.hidden_size


def resident_bytes(config: ModelConfig) -> int:
    """What greedy decode keeps in RAM: every layer's dense weights in float32 and experts packed,
    plus the lm_head in float32."""
    per_layer = dense_layer_bytes(config) + packed_layer_bytes(config)
    return config.num_hidden_layers * per_layer + head_bytes(config)


def whole_bytes(config: ModelConfig) -> int:
    """Every layer with every expert dequantized to float32, plus the lm_head."""
    per_layer = dense_layer_bytes(config) + 4 * config.num_local_experts * expert_values(config)
    return config.num_hidden_layers * per_layer + head_bytes(config)


def pass_bytes(config: ModelConfig, shape: PassShape) -> int:
    """Transient bytes of one pass: activations, attention scores of the largest chunk, MoE
    intermediates, one vocabulary chunk of logits, and the dequantization buffers of one expert."""
    h, i = config.hidden_size, config.intermediate_size
    tokens = shape.tokens
    attention = max((4 * c.batch * config.num_attention_heads * c.tokens * (c.seen + c.tokens + 1) * 4
                     for c in shape.chunks), default=0)
    # The layer's captured fields per token, and the MoE's per-(token, expert) pairs: gathered input,
    # gate_up, gated, output and its scatter (reference.layers.Experts).
    activations = 4 * tokens * h * 8 + 4 * tokens * config.num_experts_per_tok * (3 * h + 3 * i)
    head = 4 * tokens * (h + VOCAB_CHUNK) + 4 * VOCAB_CHUNK * h
    dequant = 6 * expert_values(config)
    return attention + activations + head + dequant


def captured_bytes(config: ModelConfig, batch: int, tokens: int, capture_layers: bool) -> int:
    """Captures a request keeps: logits and final norm per token, and ten fields per layer."""
    per_token = config.vocab_size + config.hidden_size
    if capture_layers:
        per_token += config.num_hidden_layers * (8 * config.hidden_size + config.num_local_experts
                                                 + 3 * config.num_experts_per_tok)
    return 4 * batch * tokens * per_token


# ----------------------------------------------------------------------------- measuring


def _timed(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median of ``repeats`` runs: the rate at the host's current load (other work on a shared host
    slows the run as much as the measurement), without one unlucky sample."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]


def _fit_linear(t1: float, n1: int, t2: float, n2: int) -> tuple[float, float]:
    """(fixed, per unit) through two timings, neither negative (timings are noisy)."""
    per = max((t2 - t1) / (n2 - n1), 0.0)
    return max(t1 - per * n1, 0.0), per


@torch.no_grad()
def measure(engine) -> Rates:
    """Times layer 0 of the checkpoint behind ``engine`` (a reference.engine.Engine)."""
    builder, head = engine.builder, engine.head
    config = builder.config
    start = time.perf_counter()
    layer = builder.build(0)
    layer_build = time.perf_counter() - start
    weights = builder.expert_weights(0)

    def fetch(expert: int):
        return weights.weight("gate_up_proj", expert), weights.weight("down_proj", expert)

    experts = config.num_local_experts
    fetch(0)  # first call allocates the dequantization buffers
    dequant = _timed(lambda: fetch(1 % experts), repeats=1)
    gate_up, down = fetch(0)
    experts_module = layer.mlp.experts

    def expert_matmuls(n: int):
        x = torch.randn(n, config.hidden_size, dtype=builder.dtype)
        return lambda: F.linear(experts_module._apply_gate(F.linear(x, gate_up)), down)

    one, many = _timed(expert_matmuls(1)), _timed(expert_matmuls(MEASURE_TOKENS))
    expert_fixed, expert_token = _fit_linear(one, 1, many, MEASURE_TOKENS)

    attention_token, attention_pair = _attention_rates(engine, layer, config)
    chunk_fetch = _timed(lambda: head.chunk(0), repeats=1)
    weight = head.chunk(0)
    chunks = head.vocab / weight.shape[0]
    h1 = _timed(lambda: F.linear(torch.randn(1, config.hidden_size, dtype=builder.dtype), weight))
    hn = _timed(lambda: F.linear(torch.randn(MEASURE_TOKENS, config.hidden_size, dtype=builder.dtype), weight))
    head_fixed, head_token = _fit_linear(h1, 1, hn, MEASURE_TOKENS)
    release_mappings(builder.reader)
    return Rates(layer_build=layer_build, expert_fetch=dequant + expert_fixed, expert_token=expert_token,
                 attention_token=attention_token, attention_pair=attention_pair,
                 head_fetch=0.0 if head.kept is not None else chunk_fetch * chunks,
                 head_fixed=head_fixed * chunks, head_token=head_token * chunks,
                 load=os.getloadavg()[0], cores=torch.get_num_threads())


def _attention_rates(engine, layer, config) -> tuple[float, float]:
    """Per token and per (query, key) pair. One prefill of MEASURE_TOKENS is timed; the pair's share
    is set by arithmetic (two head_dim dot products per head, plus the softmax's elementwise work),
    as a fit over two short lengths is mostly noise on a busy host."""
    from reference.engine import Chunk, Sequence

    n = MEASURE_TOKENS
    sequence = Sequence(engine.config, 1, capture_layers=False, keep_cache=False)
    tokens = torch.zeros(1, n, dtype=torch.long)
    state = engine.start(Chunk(sequence, tokens, torch.ones_like(tokens), []))
    hidden = torch.randn(1, n, config.hidden_size, dtype=engine.dtype)
    mask = state.masks[engine.config.layer_types[0]]
    seconds = _timed(lambda: layer.mlp.router(engine.attention(layer, hidden, state.rope, mask, None)["mlp_norm"]
                                              .reshape(n, -1)))
    heads, head_dim, h = config.num_attention_heads, config.head_dim, config.hidden_size
    projection_macs = h * (2 * heads * head_dim + 2 * config.num_key_value_heads * head_dim)
    pair_macs = heads * (2 * head_dim + 8)
    per_mac = seconds / (n * projection_macs + n * n * pair_macs)
    return projection_macs * per_mac, pair_macs * per_mac
