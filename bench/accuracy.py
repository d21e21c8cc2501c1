"""The side-by-side accuracy run: HF CPU reference and the TT-NN model on the same tokens, compared
layer by layer (accumulated and isolated), expert by expert and token by token.

One ``RunResult`` per mesh of the suite. The reference runs once per input (cached across runs);
the device model is loaded once per mesh.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from bench import compare
from bench.inputs import TeacherForcingInput, prompt_batch, resolve_model, teacher_forcing_inputs
from bench.metrics import mean_kl, token_accuracy, topk_agreement
from bench.results import Provenance, Row, RunResult, new_run_id, utc_now
from bench.suite import LoadedSuite
from bench.thresholds import evaluate
from ground.captures import Captures, decode_phase, phase_key
from ground.checkpoint import Checkpoint

Log = Callable[[str], None]


@dataclass(frozen=True)
class AccuracyRequest:
    suite: LoadedSuite
    model: str | None = None          # --model override of the suite's model
    backend: str = "emulated"
    meshes: tuple[str, ...] = ()      # --mesh override of the suite's meshes
    reference_mode: str = "auto"      # whole | stream | auto (stream when the model is large)
    use_cache: bool = True
    checkpoint: Checkpoint | None = None  # already opened (by the preflight checks); else resolved here


@dataclass
class Progress:
    """What the runner reports while it works; the CLI turns it into rich progress bars."""

    phase: Callable[[str, int], None] = lambda name, total: None  # start a phase with ``total`` steps
    advance: Callable[[str], None] = lambda name: None
    log: Log = lambda msg: None


def reference_mode(checkpoint: Checkpoint, requested: str) -> str:
    """Whole-model HF forward when the dequantized float32 model fits in a third of RAM, else streaming."""
    if requested != "auto":
        return requested
    import psutil

    config = checkpoint.config
    experts = config.num_hidden_layers * config.num_local_experts * 3 * config.hidden_size * config.intermediate_size
    float32_bytes = 4 * (experts + 2 * config.vocab_size * config.hidden_size)
    return "whole" if float32_bytes < psutil.virtual_memory().total / 3 else "stream"


def run_accuracy(request: AccuracyRequest, progress: Progress | None = None) -> list[RunResult]:
    progress = progress or Progress()
    suite = request.suite.suite
    checkpoint = request.checkpoint or resolve_model(request.model, request.suite)
    tokenizer = checkpoint.tokenizer
    mode = reference_mode(checkpoint, request.reference_mode)
    prompts = [prompt_batch(request.suite, tokenizer, n) for n in suite.prefill_lengths]
    forcing = teacher_forcing_inputs(request.suite, tokenizer)

    progress.phase("reference", len(prompts) + len(forcing))
    started = time.perf_counter()
    ref_prompts = [_reference(checkpoint, ids, suite.decode_steps, None, mode, request, progress) for ids in prompts]
    ref_forcing = [_reference(checkpoint, tf.context, suite.teacher_forcing.tokens, tf.forced, mode, request, progress)
                   for tf in forcing]
    reference_seconds = time.perf_counter() - started

    results = []
    for mesh in request.meshes or tuple(suite.meshes):
        results.append(_run_mesh(request, checkpoint, mesh, prompts, ref_prompts, forcing, ref_forcing,
                                 reference_seconds, progress))
    return results


def _reference(checkpoint, ids, steps, forced, mode, request, progress) -> Captures:
    from reference.runner import run_reference

    captures = run_reference(checkpoint, ids, decode_steps=steps, decode_tokens=forced, mode=mode,
                             use_cache=request.use_cache, log=progress.log)
    progress.advance("reference")
    return captures


def _run_mesh(request, checkpoint, mesh, prompts, ref_prompts, forcing, ref_forcing, reference_seconds,
              progress) -> RunResult:
    import tt_model

    suite = request.suite.suite
    device = f"device {mesh}"
    progress.phase(device, 1 + 2 * len(prompts) + len(forcing))
    started = time.perf_counter()
    model = tt_model.load(checkpoint, mesh=mesh, backend=request.backend, precision=_precision(suite.dtypes))
    progress.advance(device)
    try:
        device_runs = []
        for ids, ref in zip(prompts, ref_prompts):
            accumulated = model.capture(ids, suite.decode_steps, decode_tokens=ref.decode_tokens)
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
    rows: list[Row] = []
    for ids, ref, accumulated, isolated in device_runs:
        rows += _layer_rows(mesh, ids.shape[1], ref, accumulated, isolated)
        progress.advance("compare")
    for tf, ref, device_logits in zip(forcing, ref_forcing, forced_logits):
        rows += _forcing_rows(mesh, tf, ref, device_logits, suite.teacher_forcing.segment)
        progress.advance("compare")
    rows += [Row(metric="wall_seconds", mesh=mesh, side="reference", value=reference_seconds),
             Row(metric="wall_seconds", mesh=mesh, side="device", value=device_seconds)]
    return _result(request, checkpoint, mesh, model.backend_info, rows)


def _precision(dtypes):
    from tt_model.precision import Precision

    return Precision(expert_weights=dtypes.experts, attention_weights=dtypes.attention,
                     lm_head_weights=dtypes.lm_head, activations=dtypes.activations)


def _device_forcing(model, tf: TeacherForcingInput, ref: Captures) -> torch.Tensor:
    """Device logits predicting each forced token [B, T, V]: the prefill's last position, then every
    decode step but the last (whose logits predict beyond the forced text)."""
    prefill, decode = model.teacher_forced(tf.context, ref.decode_tokens)
    return torch.cat([prefill[:, -1:], decode[:, :-1]], dim=1)


def _reference_forcing(ref: Captures, steps: int) -> torch.Tensor:
    logits = [ref.phases["prefill"].model["logits"][:, -1:]]
    logits += [ref.phases[decode_phase(t)].model["logits"] for t in range(steps - 1)]
    return torch.cat(logits, dim=1).float()


def _pcc_row(mesh: str, prefill_len: int, kind: str, r: compare.FieldPcc) -> Row:
    phase, step = phase_key(r.phase)
    finite = not math.isnan(r.value)
    status = "ok" if finite else ("nonfinite" if r.method == "nonfinite" else "error")
    return Row(metric="pcc", mesh=mesh, phase=phase, step=step, prefill_len=prefill_len, layer=r.layer,
               field=r.field, kind=kind, value=r.value if finite else None, status=status, reason=r.reason)


def _layer_rows(mesh: str, prefill_len: int, ref, accumulated, isolated) -> list[Row]:
    rows = []
    for kind, device in (("accumulated", accumulated), ("isolated", isolated)):
        rows += [_pcc_row(mesh, prefill_len, kind, r) for r in compare.layer_pccs(ref, device)
                 if r.layer is not None or kind == "accumulated"]
    for r in compare.routing_rows(ref, accumulated):
        phase, step = phase_key(r.phase)
        for name, value in (("routing_exact", r.exact), ("routing_overlap", r.overlap)):
            key = dict(metric=name, mesh=mesh, phase=phase, step=step, prefill_len=prefill_len, layer=r.layer,
                       kind="accumulated")
            rows.append(Row(**key, value=value) if r.finite else
                        Row(**key, status="nonfinite", reason="router logits hold NaN/inf"))
    return rows


def _forcing_rows(mesh: str, tf: TeacherForcingInput, ref: Captures, device: torch.Tensor, segment: int) -> list[Row]:
    steps = device.shape[1]
    reference = _reference_forcing(ref, steps)
    rows = []
    for start in range(0, steps, segment):
        r, d = reference[:, start:start + segment], device[:, start:start + segment]
        for name, value in (("top1", topk_agreement(r, d, k=1)), ("top5", topk_agreement(r, d, k=5)),
                            ("kl", mean_kl(r, d))):
            rows.append(_finite_row(name, mesh=mesh, corpus=tf.source, segment=start // segment, value=value))
    if tf.forced is not None:  # fixed text: how often each side predicts the text itself
        for side, logits in (("reference", reference), ("device", device)):
            rows.append(_finite_row("text_top1", mesh=mesh, corpus=tf.source, side=side,
                                    value=token_accuracy(logits, ref.decode_tokens, k=1)))
    return rows


def _finite_row(metric: str, value: float, **key) -> Row:
    if math.isfinite(value):
        return Row(metric=metric, value=value, **key)
    return Row(metric=metric, value=None, status="nonfinite", reason=f"{metric} is {value}", **key)


def _result(request, checkpoint: Checkpoint, mesh, backend_info, rows: list[Row]) -> RunResult:
    from bench.provenance import git_commit, host, library_versions

    suite = request.suite.suite
    provenance = Provenance(git_commit=git_commit(), host=host(), backend=backend_info["backend"],
                            ttnn_version=backend_info.get("ttnn_version"), mesh=mesh,
                            model_path=str(checkpoint.path), model_identity=checkpoint.identity,
                            model_config_hash=checkpoint.config_hash, precision=backend_info.get("precision", {}),
                            suite_name=suite.name, suite_hash=request.suite.hash, versions=library_versions())
    return RunResult(run_id=new_run_id(), time=utc_now(), provenance=provenance,
                     thresholds=suite.thresholds.model_dump(mode="json"), rows=rows,
                     verdicts=evaluate(rows, suite.thresholds, mesh))
