"""Runs the HF CPU reference over prompt batches (prefill, then decode steps) and returns their
captures, from the cache when the same run was done before.

A request's decode tokens are either given (forced: teacher forcing, or a continuation fixed in
advance) or the reference's own greedy choices. Forced tokens need no step-by-step decoding: the
prompt and every forced token go through the model in one pass and the captures are sliced per
step afterwards (``reference.engine``). Greedy tokens must be decoded one step at a time; each step
visits every layer, so for a streamed model the layers are kept in RAM in their stored form
(``ResidentLayers``) when RAM allows, rather than read from the checkpoint again at every step.

All the requests of one call share their passes over the layers: a streamed model is read once
for all of them, and each routed expert is dequantized once per layer visit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ground.captures import Captures, decode_phase
from ground.checkpoint import Checkpoint
from ground.errors import UserError
from reference import costs, refcache
from reference.engine import Chunk, Engine, Segment, Sequence, prefill_segments
from reference.engine import positions  # noqa: F401  (re-exported: tests and callers build position ids with it)

MODES = ("whole", "stream")
# Greedy decode of a streamed model keeps the layers resident when they take at most this share of
# the host's RAM (a fixed share of the total, not of what happens to be free, so the choice does not
# change with the load of the machine).
RESIDENT_SHARE = 0.5
GIB = 2**30


@dataclass(frozen=True)
class Request:
    """Prefill ``input_ids`` [B, S], then ``decode_steps`` steps fed with ``decode_tokens`` [B, steps]
    (forced) or, when that is None, with the reference's own greedy choices. ``capture_layers=False``
    keeps only the model-level captures (final norm, logits): teacher forcing needs no more."""

    input_ids: torch.Tensor
    decode_steps: int = 0
    decode_tokens: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    capture_layers: bool = True
    label: str = "input"

    @property
    def greedy(self) -> bool:
        return self.decode_steps > 0 and self.decode_tokens is None

    @property
    def tokens(self) -> int:
        """Positions of the sequence once done (prompt + decode steps)."""
        return self.input_ids.shape[1] + self.decode_steps


@dataclass(frozen=True)
class Tick:
    """Reference work done: ``units`` estimated seconds of it; ``what`` says where the run is."""

    units: float
    what: str


def _validate(request: Request, mode: str) -> None:
    input_ids, mask = request.input_ids, request.attention_mask
    steps, tokens = request.decode_steps, request.decode_tokens
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise UserError(f"input_ids must be [batch, seq] with seq >= 1, got shape {tuple(input_ids.shape)}")
    if mask is not None and mask.shape != input_ids.shape:
        raise UserError(f"attention_mask shape {tuple(mask.shape)} does not match input_ids {tuple(input_ids.shape)}")
    if steps < 0:
        raise UserError(f"decode steps must be >= 0, got {steps}")
    if tokens is not None and tokens.shape != (input_ids.shape[0], steps):
        raise UserError(f"decode_tokens shape {tuple(tokens.shape)}; expected ({input_ids.shape[0]}, {steps})")
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is not one of {', '.join(MODES)}")


def resident_fits(config, total_ram: int | None = None) -> bool:
    """Whether greedy decode may keep every layer resident (dense float32, experts packed)."""
    import psutil

    total = psutil.virtual_memory().total if total_ram is None else total_ram
    return costs.resident_bytes(config) <= RESIDENT_SHARE * total


def layer_source(mode: str, greedy: bool, config) -> str:
    """Where the layers live (reference.layers): all of them in whole mode; kept resident for greedy decode when
    they fit, since it revisits every layer per step; otherwise streamed from the checkpoint."""
    if mode == "whole":
        return "whole"
    return "resident" if greedy and resident_fits(config) else "stream"


@dataclass
class ReferencePlan:
    """What ``execute`` will do: which requests come from the cache, the passes over the layers,
    where the layers live, and how long and how much memory it should take."""

    checkpoint: Checkpoint
    requests: list[Request]
    mode: str
    dtype: torch.dtype
    use_cache: bool
    keys: list[str]
    cached: dict[int, Captures]
    source: str = "none"                 # whole | stream | resident (reference.layers); none: all cached
    passes: list[costs.PassShape] = field(default_factory=list)
    rates: costs.Rates | None = None
    estimate: costs.Estimate | None = None
    notes: list[str] = field(default_factory=list)
    _engine: object = None
    _layers: object = None

    @property
    def keep_head(self) -> bool:
        return self.source != "none" and costs.keeps_head(self.source)

    @property
    def missing(self) -> list[int]:
        return [i for i in range(len(self.requests)) if i not in self.cached]

    @property
    def estimated_seconds(self) -> float:
        return self.estimate.seconds if self.estimate else 0.0

    @property
    def estimated_peak_bytes(self) -> int:
        return self.estimate.peak_bytes if self.estimate else 0

    def describe(self) -> list[str]:
        """Plain lines: what will run, and the estimate."""
        config = self.checkpoint.config
        if not self.missing:
            return [f"reference: all {len(self.requests)} inputs cached"]
        where = {"whole": "whole model in RAM (float32)",
                 "stream": "layer-streamed (one layer in RAM at a time)",
                 "resident": "layer-streamed, layers kept resident for greedy decode (experts MXFP4-packed)"}
        lines = [f"reference ({self.mode}): {where[self.source]}; "
                 f"{config.num_hidden_layers} layers x {config.num_local_experts} experts"]
        for i in self.missing:
            r = self.requests[i]
            decode = ("" if not r.decode_steps else
                      f" + {r.decode_steps} {'greedy steps' if r.greedy else 'forced tokens (one pass)'}")
            lines.append(f"  {r.label}: batch {r.input_ids.shape[0]}, prompt {r.input_ids.shape[1]}{decode}")
        if self.cached:
            lines.append(f"  {len(self.cached)} more input(s) from the cache")
        steps = len(self.passes) - 1
        lines.append(f"  {len(self.passes)} pass(es) over the layers: one for every prompt and forced token"
                     + (f", then {steps} greedy step(s)" if steps else ""))
        lines += [f"  note: {note}" for note in self.notes]
        if self.estimate is not None and self.rates is not None:
            lines.append(f"  estimate: {format_seconds(self.estimated_seconds)}, peak memory "
                         f"~{self.estimated_peak_bytes / GIB:.1f} GiB")
            lines.append("  " + describe_rates(self.rates))
        return lines


def format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def describe_rates(rates: costs.Rates) -> str:
    return (f"measured on layer 0 (load {rates.load:.1f}, {rates.cores} threads): "
            f"layer read {rates.layer_build:.2f} s, "
            f"expert dequant {rates.expert_fetch * 1e3:.0f} ms, {rates.expert_token * 1e6:.0f} us/token/expert, "
            f"attention {rates.attention_token * 1e6:.0f} us/token, lm_head {rates.head_token * 1e3:.1f} ms/token")


def passes_for(requests: list[Request]) -> list[costs.PassShape]:
    """The first pass takes every prompt with its forced tokens; then one pass per greedy step."""
    first = costs.PassShape("prompts and forced tokens", tuple(
        costs.ChunkShape(r.input_ids.shape[0], r.input_ids.shape[1] + (0 if r.greedy else r.decode_steps), 0)
        for r in requests))
    greedy = [r for r in requests if r.greedy]
    steps = max((r.decode_steps for r in greedy), default=0)
    passes = [first]
    for t in range(steps):
        chunks = tuple(costs.ChunkShape(r.input_ids.shape[0], 1, r.input_ids.shape[1] + t)
                       for r in greedy if r.decode_steps > t)
        passes.append(costs.PassShape(f"greedy step {t + 1}/{steps}", chunks))
    return passes


def plan_references(checkpoint: Checkpoint, requests: list[Request], mode: str = "whole",
                    dtype: torch.dtype = torch.float32, use_cache: bool = True,
                    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
                    measure: bool = True) -> ReferencePlan:
    """Checks the requests, looks them up in the cache and, for the rest, decides where the layers
    live and measures this checkpoint's rates for the estimate (a few seconds at 20B width)."""
    for request in requests:
        _validate(request, mode)
    keys = [refcache.cache_key(checkpoint, mode, r.input_ids, r.attention_mask, r.decode_steps, r.decode_tokens, dtype,
                               extra={"capture_layers": r.capture_layers}) for r in requests]
    cached = {}
    for i, key in enumerate(keys):
        hit = refcache.load(key) if use_cache else None
        log(f"reference cache {'hit' if hit is not None else 'miss'} {key}")
        if hit is not None:
            cached[i] = hit
    plan = ReferencePlan(checkpoint, list(requests), mode, dtype, use_cache, keys, cached)
    todo = [requests[i] for i in plan.missing]
    if not todo:
        return plan
    config = checkpoint.config
    greedy = any(r.greedy for r in todo)
    plan.source = layer_source(mode, greedy, config)
    if plan.source == "stream" and greedy:
        plan.notes.append(f"greedy decode reads every layer from the checkpoint at every step: keeping them "
                          f"resident needs {costs.resident_bytes(config) / GIB:.1f} GiB, over "
                          f"{RESIDENT_SHARE:.0%} of this host's RAM")
    plan.passes = passes_for(todo)
    _prepare(plan)
    if measure:
        plan.rates = costs.measure(plan._engine)
        plan.estimate = costs.estimate(config, plan.rates, plan.passes, plan.source, peak_bytes=peak_bytes(plan))
    return plan


def _prepare(plan: ReferencePlan) -> None:
    from reference.layers import LayerBuilder, LmHead, ResidentLayers, StreamedLayers, WholeLayers

    builder = LayerBuilder(plan.checkpoint, plan.dtype)
    head = LmHead(plan.checkpoint.tensors, plan.checkpoint.config.vocab_size, plan.dtype, keep=plan.keep_head)
    engine = Engine(builder, head)
    plan._engine = engine
    plan._layers = {"whole": WholeLayers, "stream": StreamedLayers, "resident": ResidentLayers}[plan.source](builder)


def peak_bytes(plan: ReferencePlan) -> int:
    """Process RSS now, plus what the plan's layer source keeps, the largest pass's transients and
    every request's captures."""
    import psutil

    config = plan.checkpoint.config
    kept = {"whole": costs.whole_bytes(config), "resident": costs.resident_bytes(config),
            "stream": 0}[plan.source]
    transient = max(costs.pass_bytes(config, p) for p in plan.passes)
    if plan.source == "stream":
        transient += costs.dense_layer_bytes(config)
    captures = sum(costs.captured_bytes(config, r.input_ids.shape[0], r.tokens, r.capture_layers)
                   for r in (plan.requests[i] for i in plan.missing))
    return psutil.Process().memory_info().rss + kept + transient + captures


def execute(plan: ReferencePlan, log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
            progress: Callable[[Tick], None] = lambda tick: None) -> list[Captures]:
    """Runs the plan; returns captures in request order (cached ones included) and stores the new
    ones in the cache."""
    results: dict[int, Captures] = dict(plan.cached)
    todo = plan.missing
    if todo:
        if plan._engine is None:
            _prepare(plan)
        start = time.perf_counter()
        computed = _compute(plan, [plan.requests[i] for i in todo], progress)
        seconds = time.perf_counter() - start
        for i, captures in zip(todo, computed):
            captures.metadata.update({
                "model_dir": str(plan.checkpoint.path), "mode": plan.mode, "source": plan.source,
                "dtype": str(plan.dtype), "cache_key": plan.keys[i], "seconds": f"{seconds:.3f}",
                "estimated_seconds": f"{plan.estimated_seconds:.3f}", "batched_with": str(len(todo) - 1)})
            _warn_nonfinite(captures, log)
            if plan.use_cache:
                refcache.store(plan.keys[i], captures)
            results[i] = captures
        plan._engine = plan._layers = None  # the layers, lm_head and buffers go before the device side loads
        log(f"reference computed {len(todo)} input(s) in {format_seconds(seconds)}"
            + (f" (estimated {format_seconds(plan.estimated_seconds)})" if plan.estimate else ""))
    return [results[i] for i in range(len(plan.requests))]


def _warn_nonfinite(captures: Captures, log: Callable[[str], None]) -> None:
    """A reference that overflows is worth saying out loud: every comparison against it will fail."""
    for phase, data in captures.phases.items():
        bad = int((~torch.isfinite(data.model["logits"])).sum()) if "logits" in data.model else 0
        if bad:
            log(f"reference: warning: {bad} non-finite logits in {phase} (NaN/inf in the checkpoint or an "
                "overflow); every metric against them fails as nonfinite")
            return


def _compute(plan: ReferencePlan, requests: list[Request], progress: Callable[[Tick], None]) -> list[Captures]:
    engine, layers = plan._engine, plan._layers
    config = engine.config
    sequences = [Sequence(config, r.input_ids.shape[0], r.capture_layers, keep_cache=r.greedy) for r in requests]
    first = [_first_chunk(r, s) for r, s in zip(requests, sequences)]
    costs_per_pass = plan.estimate.passes if plan.estimate else None
    engine.run(first, layers, _ticker(plan, 0, costs_per_pass, progress))
    fed = {i: [] for i, r in enumerate(requests) if r.greedy}
    last = {i: chunk.last_logits for i, chunk in enumerate(first)}
    steps = max((requests[i].decode_steps for i in fed), default=0)
    for t in range(steps):
        active = [i for i in fed if requests[i].decode_steps > t]
        chunks = []
        for i in active:
            token = last[i].argmax(-1)
            fed[i].append(token)
            chunks.append(Chunk(sequences[i], token[:, None], torch.ones_like(token[:, None]),
                                [Segment(decode_phase(t), 0, 1)]))
        engine.run(chunks, layers, _ticker(plan, t + 1, costs_per_pass, progress))
        last.update({i: chunk.last_logits for i, chunk in zip(active, chunks)})
    out = []
    for i, (request, sequence) in enumerate(zip(requests, sequences)):
        captures = sequence.captures
        tokens = torch.stack(fed[i], dim=1) if i in fed else request.decode_tokens
        if tokens is None:
            tokens = torch.zeros(request.input_ids.shape[0], 0, dtype=torch.long)
        captures.tokens.update(input_ids=request.input_ids.long(), decode_tokens=tokens.long())
        if request.attention_mask is not None:
            captures.tokens["attention_mask"] = request.attention_mask.long()
        out.append(captures)
    return out


def _first_chunk(request: Request, sequence: Sequence) -> Chunk:
    ids = request.input_ids
    mask = request.attention_mask if request.attention_mask is not None else torch.ones_like(ids)
    if request.greedy or request.decode_steps == 0:
        return Chunk(sequence, ids, mask, prefill_segments(ids.shape[1], 0))
    forced = request.decode_tokens.to(ids.dtype)
    return Chunk(sequence, torch.cat([ids, forced], dim=1), torch.cat([mask, torch.ones_like(forced)], dim=1),
                 prefill_segments(ids.shape[1], request.decode_steps))


def _ticker(plan: ReferencePlan, index: int, per_pass, progress: Callable[[Tick], None]) -> Callable[[int], None]:
    layers = plan.checkpoint.config.num_hidden_layers
    label = plan.passes[index].label if index < len(plan.passes) else f"pass {index + 1}"
    seconds = per_pass[index] if per_pass else [0.0] * (layers + 1)
    setup = plan.estimate.setup if (plan.estimate and index == 0) else 0.0

    def on_layer(i: int) -> None:
        units = seconds[i] + (setup if i == 0 else 0.0)
        what = f"{label}, lm_head" if i == layers else f"{label}, layer {i + 1}/{layers}"
        progress(Tick(units, what))

    return on_layer


def run_references(checkpoint: Checkpoint, requests: list[Request], mode: str = "whole",
                   dtype: torch.dtype = torch.float32, use_cache: bool = True,
                   log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
                   progress: Callable[[Tick], None] | None = None) -> list[Captures]:
    """Plan and execute in one call; measures rates only when someone watches the progress."""
    plan = plan_references(checkpoint, requests, mode, dtype, use_cache, log, measure=progress is not None)
    return execute(plan, log, progress or (lambda tick: None))


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
    capture_layers: bool = True,
    progress: Callable[[Tick], None] | None = None,
) -> Captures:
    """One request (see ``Request``); the tokens fed come back as data in ``captures.tokens``."""
    request = Request(input_ids, decode_steps, decode_tokens, attention_mask, capture_layers)
    return run_references(checkpoint, [request], mode, dtype, use_cache, log, progress)[0]
