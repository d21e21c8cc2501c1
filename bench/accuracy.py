"""The side-by-side accuracy run: HF CPU reference and the TT-NN model on the same tokens, compared
layer by layer (accumulated and isolated), expert by expert and token by token.

One ``RunResult`` per mesh of the suite. The reference runs once per input (cached across runs);
the device model is loaded once per mesh.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from bench import compare
from bench.accuracy_plan import peak_rss_gib, plan_accuracy
from bench.eval import suite_task_scores
from bench.inputs import TeacherForcingInput, resolve_model
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
    """What the runner reports while it works; the CLI turns it into rich progress bars. A phase's
    units: estimated seconds for the reference (so the bar's ETA holds from the start), steps of
    similar cost for the device."""

    phase: Callable[[str, float], None] = lambda name, total: None  # start a phase of ``total`` units
    advance: Callable[..., None] = lambda name, amount=1.0: None
    log: Log = lambda msg: None
    detail: Callable[[str, str], None] = lambda name, text: None  # where a phase is (pass, layer, step)


def reference_mode(checkpoint: Checkpoint, requested: str) -> str:
    """Whole model in RAM when its float32 weights fit in a third of RAM, else layer-streamed."""
    from bench.accuracy_plan import whole_fits

    if requested != "auto":
        return requested
    return "whole" if whole_fits(checkpoint.config) else "stream"


def resolved_backend(requested: str) -> str:
    """``ttnn`` or ``emulated``: the plan (teacher-forcing cap) depends on it before any model loads."""
    from tt_model.backend import backend_info, get_ttnn

    return backend_info(get_ttnn(requested))["backend"]


def run_accuracy(request: AccuracyRequest, progress: Progress | None = None) -> list[RunResult]:
    progress = progress or Progress()
    suite = request.suite.suite
    checkpoint = request.checkpoint or resolve_model(request.model, request.suite)
    mode = reference_mode(checkpoint, request.reference_mode)
    backend = resolved_backend(request.backend)
    meshes = list(request.meshes or suite.meshes)
    plan = plan_accuracy(request.suite, checkpoint, mode, backend, meshes, request.use_cache, progress.log)
    for line in plan.describe():  # before any of the work: what will run, and how long it should take
        progress.log(line)
    with_tasks = suite_task_scores(request, checkpoint, progress.log)  # lm-eval tasks the suite lists, if any
    prompts, forcing = plan.prompts, plan.forcing

    started = time.perf_counter()
    references = _reference(plan, progress)
    ref_prompts, ref_forcing = references[:len(prompts)], references[len(prompts):]
    reference_seconds = time.perf_counter() - started
    record = plan.record(reference_seconds)

    results = []
    for mesh in meshes:
        results.append(_run_mesh(request, checkpoint, mesh, backend, prompts, ref_prompts, forcing, ref_forcing,
                                 reference_seconds, progress, record))
    return [with_tasks(result) for result in results]


def _reference(plan, progress: Progress) -> list[Captures]:
    """Every reference input in shared passes over the layers; the bar advances by estimated seconds."""
    from reference.runner import execute

    estimate = plan.reference.estimated_seconds
    progress.phase("reference", estimate or len(plan.reference.requests))

    def tick(t) -> None:
        progress.advance("reference", t.units)
        progress.detail("reference", t.what)

    captures = execute(plan.reference, log=progress.log, progress=tick)
    if not estimate:
        progress.advance("reference", len(plan.reference.requests))
    return captures


def _prefill_units(ids: torch.Tensor) -> float:
    """Device work in decode-step equivalents: a prefill of 8 tokens counts as one step."""
    return ids.shape[1] / 8


@contextmanager
def _step(progress: Progress, phase: str, what: str):
    """Shows ``what`` on the phase's bar, then logs how long it took (the breakdown stays in the log)."""
    progress.detail(phase, what)
    start = time.perf_counter()
    yield
    progress.log(f"{phase}: {what} in {time.perf_counter() - start:.1f} s")


def _forcing_progress(progress: Progress, device: str, tf: TeacherForcingInput):
    def on_step(step: int, total: int) -> None:
        progress.advance(device, 1.0 if step else _prefill_units(tf.context))
        progress.detail(device, f"teacher forcing '{tf.source}' step {step}/{total}")

    return on_step


def _run_mesh(request, checkpoint, mesh, backend, prompts, ref_prompts, forcing, ref_forcing, reference_seconds,
              progress, record) -> RunResult:
    import tt_model

    suite = request.suite.suite
    device = f"device {mesh}"
    steps = record.decode_steps
    units = 2 * sum(_prefill_units(ids) + steps for ids in prompts)
    units += sum(_prefill_units(tf.context) + ref.decode_tokens.shape[1] - 1 for tf, ref in zip(forcing, ref_forcing))
    progress.phase(device, units)
    started = time.perf_counter()
    with _step(progress, device, "load weights"):
        model = tt_model.load(checkpoint, mesh=mesh, backend=backend, precision=suite.dtypes.precision())
    try:
        device_runs = []
        for ids, ref in zip(prompts, ref_prompts):
            units = _prefill_units(ids) + steps
            with _step(progress, device, f"prompt @{ids.shape[1]}: prefill + {steps} steps"):
                accumulated = model.capture(ids, steps, decode_tokens=ref.decode_tokens)
            progress.advance(device, units)
            with _step(progress, device, f"prompt @{ids.shape[1]}: each layer isolated"):
                isolated = model.isolated_layers(ref)
            progress.advance(device, units)
            device_runs.append((ids, ref, accumulated, isolated))
        forced_logits = []
        for tf, ref in zip(forcing, ref_forcing):
            with _step(progress, device, f"teacher forcing '{tf.source}'"):
                forced_logits.append(_device_forcing(model, tf, ref, _forcing_progress(progress, device, tf)))
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
    return _result(request, checkpoint, mesh, model.backend_info, rows, record)


def _device_forcing(model, tf: TeacherForcingInput, ref: Captures, on_step=lambda step, total: None) -> torch.Tensor:
    """Device logits predicting each forced token [B, T, V]: the prefill's last position, then every
    decode step but the last (whose logits predict beyond the forced text, so it is not run).
    Generator.teacher_forced step by step, so that progress follows each step."""
    forced = ref.decode_tokens
    steps = forced.shape[1] - 1
    logits = [model.prefill(tf.context, max_new_tokens=max(steps, 1))[:, -1:]]
    on_step(0, steps)
    for t in range(steps):
        logits.append(model.decode_step(forced[:, t])[:, None])
        on_step(t + 1, steps)
    return torch.cat(logits, dim=1)


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


def _result(request, checkpoint: Checkpoint, mesh, backend_info, rows: list[Row], record=None) -> RunResult:
    from bench.provenance import git_commit, host, library_versions

    suite = request.suite.suite
    provenance = Provenance(git_commit=git_commit(), host=host(), backend=backend_info["backend"],
                            ttnn_version=backend_info.get("ttnn_version"), mesh=mesh,
                            model_path=str(checkpoint.path), model_identity=checkpoint.identity,
                            model_config_hash=checkpoint.config_hash, precision=backend_info.get("precision", {}),
                            suite_name=suite.name, suite_hash=request.suite.hash, versions=library_versions(),
                            plan=record and record.model_copy(update={"peak_rss_gib": peak_rss_gib()}))
    return RunResult(run_id=new_run_id(), time=utc_now(), provenance=provenance,
                     thresholds=suite.thresholds.model_dump(mode="json"), rows=rows,
                     verdicts=evaluate(rows, suite.thresholds, mesh))
