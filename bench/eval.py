"""The eval run: lm-eval tasks on the HF CPU reference and on the TT-NN model, compared task by task.

Each side runs through lm-eval's own ``simple_evaluate`` (the models of ``bench.lmeval``), so a
score here is the score ``lm_eval`` would print for the same model args. The reference runs once;
the device once per mesh, each mesh giving one ``RunResult`` (kind ``eval``) with the
``bench.eval_compare`` rows and verdicts.

stderr: lm-eval's own. For acc / exact_match (mean aggregation) it is the closed-form sample
standard error of the mean; ``BOOTSTRAP_ITERS`` only matters for bootstrapped aggregates
(perplexity, bleu, ...). A delta's stderr is paired (same documents on both sides).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.eval_compare import compare
from bench.results import Provenance, Row, RunResult, new_run_id, utc_now
from ground.checkpoint import Checkpoint

BOOTSTRAP_ITERS = 1000
DEFAULT_TOLERANCE = 0.05
# The bundled tiny model was trained with <|endoftext|> opening every sequence; a tokenizer that adds
# no BOS of its own gets the prefix token prepended on both sides (override with add_bos_token=false).
DEFAULT_MODEL_ARGS = {"add_bos_token": True}
# transformers' eager loop over experts runs the CPU reference 2-3x faster than its default grouped_mm
# (gptoss_tiny --limit 40: 18-25 s against 40-80 s on a 2-core machine), equal to 1e-4 (tests/eval).
REFERENCE_ARGS = {"experts_implementation": "eager"}
DEVICE_ONLY = ("mesh", "backend", "precision")
REFERENCE_ONLY = ("experts_implementation", "dtype")


@dataclass(frozen=True)
class EvalRequest:
    tasks: tuple[str, ...]
    checkpoint: Checkpoint
    meshes: tuple[str, ...] = ("1x8",)
    backend: str = "auto"
    precision: object = None            # tt_model Precision (a suite's dtypes) or a preset name
    limit: float | None = None          # documents per task; a fraction when < 1 (lm-eval's --limit)
    num_fewshot: int | None = None
    tolerance: float = DEFAULT_TOLERANCE
    model_args: dict = field(default_factory=dict)  # lm-eval model args for both sides
    include_paths: tuple[Path, ...] = ()
    gen_kwargs: str | None = None
    apply_chat_template: bool = False
    suite_name: str | None = None       # provenance: the suite the tasks came from, else the task names
    suite_hash: str | None = None


@dataclass
class Progress:
    phase: Callable[[str, int], None] = lambda name, total: None
    advance: Callable[[str, int], None] = lambda name, n: None
    log: Callable[[str], None] = lambda msg: None
    quiet_lm_eval: bool = False  # silence lm-eval's own logging and per-task tqdm bars


@dataclass
class SideRun:
    model: str          # gptoss-ref | gptoss-tt
    results: dict       # simple_evaluate's dict, samples included
    tracker: object     # lm-eval EvaluationTracker (general config of the run)
    seconds: float


@dataclass
class EvalRun:
    result: RunResult
    reference: SideRun
    device: SideRun


def side_args(request: EvalRequest, mesh: str | None) -> dict:
    """Model args of one side: the defaults, the request's, and for the device its mesh and backend."""
    args = {**DEFAULT_MODEL_ARGS, **request.model_args, "pretrained": str(request.checkpoint.path)}
    if mesh is None:
        return {**REFERENCE_ARGS, **{k: v for k, v in args.items() if k not in DEVICE_ONLY}}
    return {**{k: v for k, v in args.items() if k not in REFERENCE_ONLY}, "mesh": mesh, "backend": request.backend}


def check_model_args(request: EvalRequest) -> None:
    """Both sides' args validated before anything loads (an unknown arg is one line, exit 2), and a chat
    template asked of a tokenizer that has none."""
    from bench.lmeval import chat
    from bench.lmeval.args import DeviceArgs, ReferenceArgs, parse

    parse("gptoss-ref", ReferenceArgs, side_args(request, None))
    for mesh in request.meshes:
        parse("gptoss-tt", DeviceArgs, side_args(request, mesh))
    if request.apply_chat_template:
        chat.require_template(request.checkpoint.tokenizer, "--apply-chat-template", request.checkpoint.path.name)


def prepare_tasks(request: EvalRequest):
    """The lm-eval TaskManager for the request, every task built once (its data present) before a model
    loads: an unknown task or a missing dataset is a one-line error, not a traceback after minutes."""
    from bench.lmeval.tasks import load_tasks, task_manager

    names = list(request.tasks)
    manager = task_manager(names, request.include_paths)
    load_tasks(manager, names)
    return manager


def run_eval(request: EvalRequest, progress: Progress | None = None, manager=None) -> list[EvalRun]:
    progress = progress or Progress()
    check_model_args(request)
    manager = manager or prepare_tasks(request)
    reference = _run_side(request, manager, None, progress)
    runs = []
    for mesh in request.meshes:
        device = _run_side(request, manager, mesh, progress)
        runs.append(EvalRun(_result(request, mesh, reference, device), reference, device))
    return runs


def _run_side(request: EvalRequest, manager, mesh: str | None, progress: Progress) -> SideRun:
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    from bench.lmeval import GptOssDevice, GptOssReference
    from bench.lmeval import Progress as ModelProgress

    cls, label = (GptOssReference, "reference") if mesh is None else (GptOssDevice, f"device {mesh}")
    args = side_args(request, mesh)
    current = {"name": label}

    def start(kind: str, total: int) -> None:
        current["name"] = f"{label} {'loglik' if kind == 'loglikelihood' else 'generate'}"
        progress.phase(current["name"], total)

    progress.log(f"{label}: loading {request.checkpoint.path.name}")
    started = time.perf_counter()
    lm = cls(checkpoint=request.checkpoint, precision=request.precision if mesh else None,
             progress=ModelProgress(start, lambda n: progress.advance(current["name"], n)), **args)
    tracker = EvaluationTracker()
    try:
        with _quiet(progress.quiet_lm_eval), _env_info_once():
            results = simple_evaluate(
                model=lm, model_args=",".join(f"{k}={v}" for k, v in args.items()), tasks=list(request.tasks),
                task_manager=manager, limit=request.limit, num_fewshot=request.num_fewshot,
                bootstrap_iters=BOOTSTRAP_ITERS, log_samples=True, evaluation_tracker=tracker,
                gen_kwargs=request.gen_kwargs, apply_chat_template=request.apply_chat_template)
    finally:
        lm.close()
    seconds = time.perf_counter() - started
    # Recorded as lm_eval --model NAME would record it, not as a Python object.
    results["config"].update(model=cls.NAME, batch_size=lm.batch_size)
    tracker.general_config_tracker.model_source = cls.NAME
    progress.log(f"{label}: {len(results['configs'])} task(s) in {seconds:.1f} s")
    return SideRun(cls.NAME, results, tracker, seconds)


@contextlib.contextmanager
def _quiet(enabled: bool):
    """lm-eval logs at INFO/WARNING, draws a tqdm bar per task while it builds requests and lets
    ``git describe`` print "fatal: not a git repository" outside a checkout; under the CLI's own
    progress bars that is noise (``-v`` shows it). Patched for the duration of the call only."""
    if not enabled:
        yield
        return
    import functools

    import lm_eval.api.task as task_module
    import lm_eval.evaluator as evaluator_module

    log = logging.getLogger("lm_eval")
    saved = log.level, task_module.tqdm, evaluator_module.get_git_commit_hash
    log.setLevel(logging.ERROR)
    task_module.tqdm = functools.partial(saved[1], disable=True)
    evaluator_module.get_git_commit_hash = _git_hash_quietly
    try:
        yield
    finally:
        log.setLevel(saved[0])
        task_module.tqdm, evaluator_module.get_git_commit_hash = saved[1], saved[2]


_ENV_INFO: dict = {}


@contextlib.contextmanager
def _env_info_once():
    """lm-eval's add_env_info runs ``pip list`` through torch's collect_env (a second or more) for each
    simple_evaluate; within one process the environment is the same, so both sides get one result."""
    import lm_eval.evaluator as evaluator_module

    real = evaluator_module.add_env_info

    def cached(storage: dict) -> None:
        if not _ENV_INFO:
            real(_ENV_INFO)
        storage.update(_ENV_INFO)

    evaluator_module.add_env_info = cached
    try:
        yield
    finally:
        evaluator_module.add_env_info = real


def _git_hash_quietly() -> str | None:
    """lm-eval's get_git_commit_hash (the working directory's commit), without git's stderr."""
    import os
    import subprocess

    from lm_eval.loggers.utils import get_commit_from_path

    try:
        return subprocess.check_output(["git", "describe", "--always"], stderr=subprocess.DEVNULL).strip().decode()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return get_commit_from_path(os.getcwd())


def spec_hash(request: EvalRequest, configs: dict) -> str:
    """What the scores depend on besides the model: tasks and their configs, limit, shots, tolerance, args."""
    spec = {"tasks": list(request.tasks), "limit": request.limit, "num_fewshot": request.num_fewshot,
            "tolerance": request.tolerance, "model_args": {**DEFAULT_MODEL_ARGS, **request.model_args},
            "gen_kwargs": request.gen_kwargs, "apply_chat_template": request.apply_chat_template,
            "configs": configs}
    # Functions in a config (process_docs, custom_dataset) by name: their reprs hold memory addresses.
    text = json.dumps(spec, sort_keys=True, default=lambda o: getattr(o, "__qualname__", type(o).__name__))
    return hashlib.sha256(text.encode()).hexdigest()


def _result(request: EvalRequest, mesh: str, reference: SideRun, device: SideRun) -> RunResult:
    from bench.provenance import git_commit, host, library_versions

    rows, verdicts = compare(reference.results, device.results, request.tolerance, mesh)
    rows += [Row(metric="wall_seconds", mesh=mesh, side="reference", value=reference.seconds),
             Row(metric="wall_seconds", mesh=mesh, side="device", value=device.seconds)]
    info = device.results["config"]
    checkpoint = request.checkpoint
    provenance = Provenance(
        git_commit=git_commit(), host=host(), backend=info.get("backend", "unknown"),
        ttnn_version=info.get("ttnn_version"), mesh=mesh, model_path=str(checkpoint.path),
        model_identity=checkpoint.identity, model_config_hash=checkpoint.config_hash,
        precision=info.get("precision") or {}, suite_name=request.suite_name or "+".join(request.tasks),
        suite_hash=request.suite_hash or spec_hash(request, reference.results.get("configs", {})),
        versions=library_versions())
    thresholds = {"task_ratio_min": 1 - request.tolerance, "tolerance": request.tolerance, "limit": request.limit,
                  "num_fewshot": request.num_fewshot}
    return RunResult(kind="eval", run_id=new_run_id(), time=utc_now(), provenance=provenance,
                     thresholds=thresholds, rows=rows, verdicts=verdicts)


def suite_task_scores(request, checkpoint: Checkpoint, log: Callable[[str], None]) -> Callable[[RunResult], RunResult]:
    """For ``bench.accuracy``: the lm-eval tasks an accuracy suite lists (``tasks:``), scored on both
    sides now (so an unknown task or missing data stops the run before the long comparison), and a
    function adding each mesh's task rows and verdicts to that mesh's accuracy result."""
    suite = request.suite.suite
    if suite.tasks is None:
        return lambda result: result
    spec = suite.tasks
    eval_request = EvalRequest(
        tasks=tuple(spec.names), checkpoint=checkpoint, meshes=tuple(request.meshes or suite.meshes),
        backend=request.backend, precision=None if "precision" in spec.model_args else suite.dtypes.precision(),
        limit=spec.limit, num_fewshot=spec.num_fewshot, tolerance=spec.tolerance, model_args=dict(spec.model_args),
        suite_name=suite.name, suite_hash=request.suite.hash)
    scored = {run.result.provenance.mesh: run.result for run in run_eval(eval_request, Progress(log=log, quiet_lm_eval=True))}

    def merge(result: RunResult) -> RunResult:
        tasks = scored.get(result.provenance.mesh)
        if tasks is None:
            return result
        rows = [r for r in tasks.rows if r.metric != "wall_seconds"]  # the accuracy run times its own sides
        return result.model_copy(update={"rows": result.rows + rows, "verdicts": result.verdicts + tasks.verdicts,
                                         "thresholds": {**result.thresholds, "tasks": tasks.thresholds}})

    return merge
