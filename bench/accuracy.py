"""The side-by-side accuracy run: HF CPU reference and the TT-NN model on the same tokens, compared
layer by layer (accumulated and isolated), expert by expert and token by token.

One ``RunResult`` per mesh of the suite. The reference runs once per input (cached across runs);
the device model is loaded once per mesh.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench import compare
from bench.inputs import TeacherForcingInput, prompt_batch, resolve_model, teacher_forcing_inputs
from bench.metrics import mean_kl, token_accuracy, topk_agreement
from bench.results import (LayerPcc, Metrics, Provenance, RoutingAgreement, RunResult, Scalar, Segment,
                           evaluate_thresholds, new_run_id, utc_now)
from bench.suite import LoadedSuite
from reference.captures import Captures, decode_phase

Log = Callable[[str], None]


@dataclass(frozen=True)
class AccuracyRequest:
    suite: LoadedSuite
    model: str | None = None          # --model override of the suite's model
    backend: str = "emulated"
    meshes: tuple[str, ...] = ()      # --mesh override of the suite's meshes
    reference_mode: str = "auto"      # whole | stream | auto (stream when the model is large)
    use_cache: bool = True


@dataclass
class Progress:
    """What the runner reports while it works; the CLI turns it into rich progress bars."""

    phase: Callable[[str, int], None] = lambda name, total: None  # start a phase with ``total`` steps
    advance: Callable[[str], None] = lambda name: None
    log: Log = lambda msg: None


@dataclass
class _Gathered:
    layer_pcc: list[LayerPcc] = field(default_factory=list)
    routing: list[RoutingAgreement] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    scalars: list[Scalar] = field(default_factory=list)


def reference_mode(model_dir: Path, requested: str) -> str:
    """Whole-model HF forward when the dequantized float32 model fits in a third of RAM, else streaming."""
    if requested != "auto":
        return requested
    import psutil

    from reference.loader import load_config

    config = load_config(model_dir)
    experts = config.num_hidden_layers * config.num_local_experts * 3 * config.hidden_size * config.intermediate_size
    float32_bytes = 4 * (experts + 2 * config.vocab_size * config.hidden_size)
    return "whole" if float32_bytes < psutil.virtual_memory().total / 3 else "stream"


def run_accuracy(request: AccuracyRequest, progress: Progress | None = None) -> list[RunResult]:
    from reference.loader import load_tokenizer

    progress = progress or Progress()
    suite = request.suite.suite
    model_dir = resolve_model(suite.model, request.model, request.suite)
    tokenizer = load_tokenizer(model_dir)
    mode = reference_mode(model_dir, request.reference_mode)
    prompts = [prompt_batch(request.suite, tokenizer, n) for n in suite.prefill_lengths]
    forcing = teacher_forcing_inputs(request.suite, tokenizer)

    progress.phase("reference", len(prompts) + len(forcing))
    started = time.perf_counter()
    ref_prompts = [_reference(model_dir, ids, suite.decode_steps, None, mode, request, progress) for ids in prompts]
    ref_forcing = [_reference(model_dir, tf.context, suite.teacher_forcing.tokens, tf.forced, mode, request, progress)
                   for tf in forcing]
    reference_seconds = time.perf_counter() - started

    results = []
    for mesh in request.meshes or tuple(suite.meshes):
        results.append(_run_mesh(request, model_dir, mesh, prompts, ref_prompts, forcing, ref_forcing,
                                 reference_seconds, progress))
    return results


def _reference(model_dir, ids, steps, forced, mode, request, progress) -> Captures:
    from reference.runner import run_reference

    captures = run_reference(model_dir, ids, decode_steps=steps, decode_tokens=forced, mode=mode,
                             use_cache=request.use_cache, log=progress.log)
    progress.advance("reference")
    return captures


def _run_mesh(request, model_dir, mesh, prompts, ref_prompts, forcing, ref_forcing, reference_seconds,
              progress) -> RunResult:
    import tt_model
    from reference.runner import fed_decode_tokens

    suite = request.suite.suite
    gathered = _Gathered()
    device = f"device {mesh}"
    progress.phase(device, 1 + 2 * len(prompts) + len(forcing))
    started = time.perf_counter()
    model = tt_model.load(model_dir, mesh=mesh, backend=request.backend, precision=_precision(suite.dtypes))
    progress.advance(device)
    try:
        device_runs = []
        for ids, ref in zip(prompts, ref_prompts):
            accumulated = model.capture(ids, suite.decode_steps, decode_tokens=fed_decode_tokens(ref))
            progress.advance(device)
            isolated = model.isolated_layers(ref)
            progress.advance(device)
            device_runs.append((ids, ref, accumulated, isolated))
        forced_logits = []
        for tf, ref in zip(forcing, ref_forcing):
            forced_logits.append(_device_forcing(model, tf, ref))
            progress.advance(device)
    finally:
        model.close()
    device_seconds = time.perf_counter() - started

    progress.phase("compare", len(device_runs) + len(forcing))
    several = len(device_runs) > 1
    for ids, ref, accumulated, isolated in device_runs:
        _compare_layers(gathered, ids.shape[1] if several else None, ref, accumulated, isolated)
        progress.advance("compare")
    for tf, ref, device_logits in zip(forcing, ref_forcing, forced_logits):
        _compare_forcing(gathered, tf, ref, device_logits, suite.teacher_forcing.segment)
        progress.advance("compare")
    gathered.scalars += [Scalar(name="wall_seconds reference", value=reference_seconds),
                         Scalar(name=f"wall_seconds device ({model.backend_info['backend']})", value=device_seconds)]
    return _result(request, model_dir, mesh, model.backend_info, gathered)


def _precision(dtypes):
    from tt_model.precision import Precision

    return Precision(expert_weights=dtypes.experts, attention_weights=dtypes.attention,
                     lm_head_weights=dtypes.lm_head, activations=dtypes.activations)


def _device_forcing(model, tf: TeacherForcingInput, ref: Captures) -> torch.Tensor:
    """Device logits predicting each forced token [B, T, V]: the prefill's last position, then every
    decode step but the last (whose logits predict beyond the forced text)."""
    from reference.runner import fed_decode_tokens

    forced = fed_decode_tokens(ref)
    prefill, decode = model.teacher_forced(tf.context, forced)
    return torch.cat([prefill[:, -1:], decode[:, :-1]], dim=1)


def _reference_forcing(ref: Captures, steps: int) -> torch.Tensor:
    logits = [ref.phases["prefill"].model["logits"][:, -1:]]
    logits += [ref.phases[decode_phase(t)].model["logits"] for t in range(steps - 1)]
    return torch.cat(logits, dim=1).float()


def _compare_layers(gathered: _Gathered, prefill_len: int | None, ref, accumulated, isolated) -> None:
    for kind, device in (("accumulated", accumulated), ("isolated", isolated)):
        for row in compare.layer_pccs(ref, device):
            phase = _phase_name(row.phase, prefill_len)
            value = None if math.isnan(row.value) else row.value
            if row.layer is None:  # final norm / logits: model-level, reported as scalars
                if kind == "accumulated":
                    gathered.scalars.append(Scalar(name=f"pcc {phase} {row.field}", value=value))
                continue
            gathered.layer_pcc.append(LayerPcc(phase=phase, layer=row.layer, field=row.field, kind=kind,
                                               value=value, reason=row.reason))
    for row in compare.routing_rows(ref, accumulated):
        gathered.routing.append(RoutingAgreement(phase=_phase_name(row.phase, prefill_len), layer=row.layer,
                                                 exact=row.exact, overlap=row.overlap))


def _phase_name(phase: str, prefill_len: int | None) -> str:
    """``prefill`` / ``decode_3`` as captured; with several prefill lengths, ``prefill@128`` etc."""
    return phase if prefill_len is None else f"{phase}@{prefill_len}"


def _compare_forcing(gathered: _Gathered, tf: TeacherForcingInput, ref: Captures, device: torch.Tensor,
                     segment: int) -> None:
    from reference.runner import fed_decode_tokens

    steps = device.shape[1]
    reference = _reference_forcing(ref, steps)
    for start in range(0, steps, segment):
        r, d = reference[:, start:start + segment], device[:, start:start + segment]
        gathered.segments.append(Segment(corpus=tf.source, segment=start // segment,
                                         top1=topk_agreement(r, d, k=1), top5=topk_agreement(r, d, k=5),
                                         kl=mean_kl(r, d)))
    if tf.forced is not None:  # fixed text: how often each side predicts the text itself
        targets = fed_decode_tokens(ref)
        for side, logits in (("reference", reference), ("device", device)):
            gathered.scalars.append(Scalar(name=f"text top1 {tf.source} {side}",
                                           value=token_accuracy(logits, targets, k=1)))


def _result(request, model_dir, mesh, backend_info, gathered: _Gathered) -> RunResult:
    from bench.provenance import git_commit, host, library_versions, model_identity

    suite = request.suite.suite
    path, config_hash = model_identity(model_dir)
    metrics = Metrics(layer_pcc=gathered.layer_pcc, routing=gathered.routing, segments=gathered.segments,
                      scalars=gathered.scalars)
    provenance = Provenance(git_commit=git_commit(), host=host(), backend=backend_info["backend"],
                            ttnn_version=backend_info.get("ttnn_version"), mesh=mesh, model_path=path,
                            model_config_hash=config_hash, suite_name=suite.name, suite_hash=request.suite.hash,
                            versions=library_versions())
    return RunResult(run_id=new_run_id(), time=utc_now(), provenance=provenance,
                     thresholds=suite.thresholds.model_dump(mode="json"), metrics=metrics,
                     verdicts=evaluate_thresholds(metrics, suite.thresholds))
