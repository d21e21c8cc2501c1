"""What an accuracy run will do, decided and printed before any of it runs.

- The reference's inputs: one prompt batch per prefill length (prefill, then ``decode_steps``) and
  the teacher-forcing sources, with their decode tokens either the reference's own greedy choices
  or forced (fixed in advance). Forced tokens cost one pass over the layers; greedy ones one pass
  per token, which at 20B / 120B size means hours on a small host (see ``decide_decode``).
- The decode steps and teacher-forcing length the device side runs: the suite's, or its
  ``emulated`` caps when the device is the host emulator (it runs every op on the host).
- The time and memory estimate of the reference from rates measured on this checkpoint
  (``reference.costs``), and, when the checkpoint has the published models' layer shapes, the
  projection for the published 20B and 120B on this host.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

import torch

from bench.inputs import TeacherForcingInput, prompt_batch, teacher_forcing_inputs
from bench.results import RunPlan
from bench.suite import LoadedSuite
from ground.checkpoint import Checkpoint
from ground.config import ModelConfig

GIB = 2**30
GREEDY_SOURCE = "greedy"
FORCED_PROMPT_SOURCE = "prompt"   # the first prompt continued with held-out text, when decode is forced
PUBLISHED = ("20b", "120b")


def peak_rss_gib() -> float:
    """Peak resident set of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)


def whole_fits(config: ModelConfig) -> bool:
    """The whole-model reference (every expert in float32) when it takes under a third of RAM."""
    import psutil

    from reference.costs import whole_bytes

    return whole_bytes(config) < psutil.virtual_memory().total / 3


def decide_decode(suite, config: ModelConfig, mode: str) -> tuple[str, str]:
    """``greedy`` or ``forced`` for the decode phases of the prompts and the greedy teacher-forcing
    source, and why. ``auto``: greedy when every layer can stay in RAM (whole model, or resident
    packed layers), so a decode step reads nothing from disk; else forced."""
    from reference.costs import resident_bytes
    from reference.runner import RESIDENT_SHARE, resident_fits

    choice = suite.reference.decode
    if choice != "auto":
        return choice, f"suite {suite.name!r} sets reference.decode: {choice}"
    if mode == "whole":
        return "greedy", "auto: the whole model is in RAM"
    if resident_fits(config):
        return "greedy", f"auto: the layers fit in RAM packed ({resident_bytes(config) / GIB:.1f} GiB)"
    return "forced", (f"auto: keeping the layers resident for greedy decode needs "
                      f"{resident_bytes(config) / GIB:.1f} GiB, over {RESIDENT_SHARE:.0%} of this host's RAM")


def run_counts(suite, backend: str) -> tuple[int, int, str | None]:
    """(decode steps, teacher-forced tokens per source, what was capped) for this backend."""
    steps, tokens = suite.decode_steps, suite.teacher_forcing.tokens
    if backend != "emulated":
        return steps, tokens, None
    caps = suite.emulated
    capped = []
    if caps.decode_steps is not None and caps.decode_steps < steps:
        capped.append(f"{caps.decode_steps} of the suite's {steps} decode steps")
        steps = caps.decode_steps
    if caps.teacher_forcing_tokens is not None and caps.teacher_forcing_tokens < tokens:
        capped.append(f"{caps.teacher_forcing_tokens} of its {tokens} teacher-forced tokens per source")
        tokens = caps.teacher_forcing_tokens
    statement = f"{' and '.join(capped)}: the suite's emulated caps, on the emulated backend" if capped else None
    return steps, tokens, statement


@dataclass
class AccuracyPlan:
    backend: str
    mode: str
    decode: str
    decode_reason: str
    decode_steps: int
    forcing_tokens: int
    caps: str | None
    prompts: list[torch.Tensor]
    prompt_decode_tokens: list[torch.Tensor | None]
    forcing: list[TeacherForcingInput]
    reference: object = None                       # reference.runner.ReferencePlan
    projections: dict[str, object] = field(default_factory=dict)   # published name -> reference.costs.Estimate
    device_lines: list[str] = field(default_factory=list)
    projection_basis: str = ""

    def requests(self):
        from reference.runner import Request

        out = [Request(ids, self.decode_steps, tokens, capture_layers=True, label=f"prompt @{ids.shape[1]}")
               for ids, tokens in zip(self.prompts, self.prompt_decode_tokens)]
        out += [Request(tf.context, self.forcing_tokens, tf.forced, capture_layers=False,
                        label=f"teacher forcing '{tf.source}'") for tf in self.forcing]
        return out

    def describe(self) -> list[str]:
        from reference.runner import format_seconds

        lines = [f"decode tokens: {self.decode} ({self.decode_reason})"]
        if self.decode == "forced":
            lines.append("  prompts are continued with held-out corpus text; teacher forcing "
                         f"'{GREEDY_SOURCE}' becomes '{FORCED_PROMPT_SOURCE}' (the first prompt, continued)")
        lines.append(f"decode steps: {self.decode_steps}; teacher forcing: {self.forcing_tokens} tokens per source"
                     + (f" ({self.caps})" if self.caps else ""))
        lines += self.reference.describe()
        if self.projections:
            shown = "; ".join(f"gpt-oss-{name} ({len(e.passes[0]) - 1} layers) {format_seconds(e.seconds)}, "
                              f"peak ~{e.peak_bytes / GIB:.1f} GiB" for name, e in self.projections.items())
            lines.append(f"  projected for the published models on this host (this suite, {self.projection_basis}): "
                         f"{shown}")
        return lines + self.device_lines

    def record(self, reference_seconds: float) -> RunPlan:
        ref = self.reference
        return RunPlan(
            reference_mode=self.mode, reference_source=ref.source if ref.missing else "cached",
            decode=self.decode, decode_reason=self.decode_reason,
            decode_steps=self.decode_steps, teacher_forcing_tokens=self.forcing_tokens, emulated_caps=self.caps,
            estimated_seconds=round(ref.estimated_seconds, 3) if ref.estimate else None,
            reference_seconds=round(reference_seconds, 3),
            estimated_peak_gib=round(ref.estimated_peak_bytes / GIB, 3) if ref.estimate else None,
            reference_peak_gib=peak_rss_gib(),
            rates=ref.rates.as_dict() if ref.rates else {},
            projected_seconds={f"gpt-oss-{n}": round(e.seconds, 1) for n, e in self.projections.items()})


def _forced_inputs(loaded: LoadedSuite, tokenizer, forcing: list[TeacherForcingInput], tokens: int):
    """The greedy source replaced by the first prompt continued with held-out text, forced."""
    context = loaded.suite.teacher_forcing.segment
    out = []
    for tf in forcing:
        if tf.forced is None:
            window = prompt_batch(loaded, tokenizer, context + tokens)[:1]
            tf = TeacherForcingInput(FORCED_PROMPT_SOURCE, window[:, :context], window[:, context:])
        out.append(tf)
    return out


def _cap(forcing: list[TeacherForcingInput], tokens: int) -> list[TeacherForcingInput]:
    return [TeacherForcingInput(tf.source, tf.context, None if tf.forced is None else tf.forced[:, :tokens])
            for tf in forcing]


def plan_inputs(loaded: LoadedSuite, checkpoint: Checkpoint, mode: str, backend: str) -> AccuracyPlan:
    """Every token the run will feed, and the decisions behind them (no model work yet)."""
    suite = loaded.suite
    tokenizer = checkpoint.tokenizer
    decode, reason = decide_decode(suite, checkpoint.config, mode)
    steps, tokens, caps = run_counts(suite, backend)
    prompts = [prompt_batch(loaded, tokenizer, n) for n in suite.prefill_lengths]
    decode_tokens = [None if decode == "greedy" or not steps else
                     prompt_batch(loaded, tokenizer, ids.shape[1] + steps)[:, ids.shape[1]:] for ids in prompts]
    forcing = _cap(teacher_forcing_inputs(loaded, tokenizer), tokens)
    if decode == "forced":
        forcing = _forced_inputs(loaded, tokenizer, forcing, tokens)
    return AccuracyPlan(backend, mode, decode, reason, steps, tokens, caps, prompts, decode_tokens, forcing)


def plan_accuracy(loaded: LoadedSuite, checkpoint: Checkpoint, mode: str, backend: str, meshes: list[str],
                  use_cache: bool, log) -> AccuracyPlan:
    from reference.runner import plan_references

    plan = plan_inputs(loaded, checkpoint, mode, backend)
    plan.reference = plan_references(checkpoint, plan.requests(), mode, use_cache=use_cache, log=log)
    if plan.reference.rates is not None:
        plan.projections = project_published(loaded, checkpoint, plan.reference.rates)
        plan.projection_basis = (f"ttnn: {loaded.suite.decode_steps} decode steps, "
                                 f"{loaded.suite.teacher_forcing.tokens} teacher-forced tokens")
    plan.device_lines = device_lines(loaded, checkpoint, plan, meshes)
    return plan


# ----------------------------------------------------------------------------- projections


def _same_layers(a: ModelConfig, b: ModelConfig) -> bool:
    keys = ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def project_published(loaded: LoadedSuite, checkpoint: Checkpoint, rates) -> dict[str, object]:
    """The suite's reference work on the published 20B and 120B, on this host, from rates measured on
    this checkpoint: valid when its layers have their shapes (e.g. a truncated 20B-layout checkpoint)."""
    from reference.presets import get_preset, published_config

    out = {}
    for name in PUBLISHED:
        config = ModelConfig.from_dict(published_config(get_preset(name)))
        if not _same_layers(config, checkpoint.config):
            continue
        out[name] = project(loaded, config, rates)
    return out


def project(loaded: LoadedSuite, config: ModelConfig, rates, backend: str = "ttnn"):
    """Estimate of the suite's reference on ``config`` (no weights needed: shapes and rates)."""
    from reference import costs
    from reference.runner import Request, layer_source, passes_for

    suite = loaded.suite
    mode = "whole" if whole_fits(config) else "stream"
    decode, _ = decide_decode(suite, config, mode)
    steps, tokens, _ = run_counts(suite, backend)
    context = suite.teacher_forcing.segment
    batch = suite.batch_size

    def request(prompt: int, n: int, forced: bool, layers: bool, rows: int):
        given = torch.zeros(rows, n, dtype=torch.long) if forced and n else None
        return Request(torch.zeros(rows, prompt, dtype=torch.long), n, given, capture_layers=layers)

    requests = [request(length, steps, decode == "forced", True, batch) for length in suite.prefill_lengths]
    requests += [request(context, tokens, decode == "forced", False, 1)]     # greedy (or its forced stand-in)
    if suite.teacher_forcing.text_file is not None or suite.teacher_forcing.corpus is not None:
        requests += [request(context, tokens, True, False, 1)]               # fixed text
    source = layer_source(mode, decode == "greedy", config)
    passes = passes_for(requests)
    kept = {"whole": costs.whole_bytes(config), "resident": costs.resident_bytes(config), "stream": 0}[source]
    import psutil

    peak = (psutil.Process().memory_info().rss + kept + max(costs.pass_bytes(config, p) for p in passes)
            + costs.dense_layer_bytes(config)
            + sum(costs.captured_bytes(config, r.input_ids.shape[0], r.tokens, r.capture_layers) for r in requests))
    return costs.estimate(config, rates, passes, source, peak_bytes=peak)


# ----------------------------------------------------------------------------- device side


def emulated_device_bytes(config: ModelConfig, mesh: str) -> int:
    """Host memory the TT-NN emulator takes for the model: it holds every 16-bit-or-narrower device
    tensor as bfloat16 (block floats included: their values fit), expert widths padded to whole tiles
    per device, and converts one expert half (gate, up or down) at a time from a float32 copy and its
    tile-padded copy. Approximate: tt_model owns the details."""
    from tt_model.mesh import parse_mesh
    from tt_model.weights import tile_padded

    shape = parse_mesh(mesh)
    h, i, e = config.hidden_size, config.intermediate_size, config.num_local_experts
    padded_i = tile_padded(i, shape.cols) * shape.cols
    experts = e * 3 * h * padded_i
    d = config.head_dim
    attention = h * (config.num_attention_heads + 2 * config.num_key_value_heads) * d * 2
    head = tile_padded(config.vocab_size, shape.cols) * shape.cols * h
    weights = config.num_hidden_layers * (experts + attention) + head + config.vocab_size * h
    conversion = 4 * e * h * (i + padded_i)
    return 2 * weights + conversion


def device_lines(loaded: LoadedSuite, checkpoint: Checkpoint, plan: AccuracyPlan, meshes: list[str]) -> list[str]:
    suite = loaded.suite
    lines = []
    for mesh in meshes:
        work = (f"load, then per prompt batch prefill + {plan.decode_steps} decode steps (captured, then layer by "
                f"layer isolated); teacher forcing {len(plan.forcing)} x ({suite.teacher_forcing.segment} + "
                f"{plan.forcing_tokens} steps)")
        memory = (f"; host memory ~{_size(emulated_device_bytes(checkpoint.config, mesh))} (weights held as "
                  "bfloat16)" if plan.backend == "emulated" else "")
        lines.append(f"device {mesh} ({plan.backend}): {work}{memory}; time shown as it runs")
    return lines


def _size(n: int) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB / 10 else f"{n / 2**20:.0f} MiB"
