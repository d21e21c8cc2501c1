"""The perf runner: TTFT, decode speed and throughput per mesh / batch / ISL / OSL, by tt-metal's GPT-OSS demo
protocol, through the same code on a Wormhole (measured) and on the emulator (modelled device time from the
Wormhole cost model, plus the host wall time, labelled as such and never as a Wormhole time).

Per point: a compile run first (first prefill, first decode step and, with trace, the step that captures the
trace), timed and reported apart; ``warmup`` untimed runs; then ``repeats`` measured runs of one prefill and OSL
decode steps, each timed between ``synchronize_device`` calls. TTFT = prefill time / batch; decode step 0 of
every run is excluded (tt-metal: (generated tokens - 1) / decode time); t/s/u = 1 / mean step; t/s = t/s/u x
batch. Every measured decode step is kept as a raw sample.
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench import limits
from bench.perf_schema import Breakdown, CategoryTime, OpTime, PerfPoint, Readiness, StepStats
from bench.results import Provenance, Row, RunResult, Verdict, new_run_id, utc_now
from bench.suite import LoadedSuite
from ground.captures import decode_phase, phase_key
from ground.errors import UserError

Log = Callable[[str], None]
DATA_MOVEMENT = {"transpose", "reshape", "data_movement", "tilize", "view"}
MODULES = ("attention", "experts", "router", "norms", "lm_head", "embedding")
TOP_OPS = 10


@dataclass(frozen=True)
class PerfRequest:
    suite: LoadedSuite | None = None
    size: str | None = None            # 20b | 120b: the published config without weights (shape-only)
    model: str | None = None           # checkpoint directory
    meshes: tuple[str, ...] = ()
    batches: tuple[int, ...] = ()
    isls: tuple[int, ...] = ()
    osls: tuple[int, ...] = ()
    repeats: int | None = None
    warmup: int | None = None
    trace: bool | None = None
    precision: str | None = None
    backend: str = "auto"
    cost_model: str | None = None      # constants override file
    profile_csv: Path | None = None    # a hardware run's ops_perf_results CSV
    csv_decode_steps: int = 1          # decode steps written to the modelled ops_perf_results CSV


@dataclass
class Plan:
    checkpoint: object
    label: str                          # suite name or size, for file names
    meshes: list[str]
    batches: list[int]
    isls: list[int]
    osls: list[int]
    repeats: int
    warmup: int
    trace: bool
    precision: object
    suite_hash: str
    cost_model: object                  # the loaded tt_model.costmodel.CostModel, shared by every check and mesh


@dataclass(frozen=True)
class MeasuredProfile:
    """A hardware run's profiler CSV, read once: every op measured vs modelled, and the measured op breakdown."""
    source: Path
    comparison: object                  # bench.calibrate.Comparison
    breakdown: list[Breakdown]


@dataclass
class MeshRun:
    result: RunResult
    records: list = field(default_factory=list)        # modelled op trace of one measured run (CSV)
    signposts: list = field(default_factory=list)
    profile: MeasuredProfile | None = None             # with --profile-csv: the same for every mesh


# ----------------------------------------------------------------------------- planning (all checks before work)
def plan(request: PerfRequest) -> Plan:
    from tt_model.costmodel import CostModel
    from tt_model.mesh import check_divisibility, parse_mesh
    from tt_model.model import cache_length
    from tt_model.precision import resolve_precision

    cost_model = CostModel.load(request.cost_model or None)  # a bad file fails before any other check
    sweep = request.suite.suite.perf if request.suite is not None and request.suite.suite.perf else None
    checkpoint, label = _checkpoint(request, sweep)
    meshes = list(request.meshes) or (sweep.meshes if sweep and sweep.meshes else None) or (
        list(request.suite.suite.meshes) if request.suite else ["1x8"])
    batches = list(request.batches) or (sweep.batch if sweep else [1])
    isls = list(request.isls) or (sweep.isl if sweep else [128])
    osls = list(request.osls) or (sweep.osl if sweep else [128])
    repeats = request.repeats if request.repeats is not None else (sweep.repeats if sweep else 1)
    warmup = request.warmup if request.warmup is not None else (sweep.warmup if sweep else 0)
    if repeats < 1:
        raise UserError(f"--repeats {repeats}: at least one measured run is needed")
    if warmup < 0:
        raise UserError(f"--warmup {warmup}: must be 0 or more")
    precision = resolve_precision(request.precision or (request.suite.suite.dtypes.precision() if request.suite else None))
    config = checkpoint.config
    for name, values in (("--batch", batches), ("--isl", isls), ("--osl", osls)):
        bad = [v for v in values if v < 1]
        if bad:
            raise UserError(f"{name} {bad[0]}: must be a positive integer")
    for osl in osls:
        if osl < 2:
            raise UserError(f"--osl {osl}: at least 2 output tokens are needed (decode step 0 is not timed)")
    for isl in isls:
        for osl in osls:
            if isl + osl > config.max_position_embeddings:
                raise UserError(f"--isl {isl} + --osl {osl} = {isl + osl} exceeds the model's context of "
                                f"{config.max_position_embeddings} tokens")
    length = cache_length(max(isls) + max(osls))  # the KV cache the model will allocate
    for spec in meshes:
        mesh = parse_mesh(spec)
        check_divisibility(mesh, config)
        for batch in batches:
            limits.check_capacity(config, precision, mesh, batch, length, cost_model)
    _check_host_memory(checkpoint, request.backend)
    trace = request.trace if request.trace is not None else (sweep.trace if sweep else True)
    suite_hash = request.suite.hash if request.suite else hashlib.sha256(json.dumps(
        [label, meshes, batches, isls, osls], sort_keys=True).encode()).hexdigest()
    return Plan(checkpoint, label, [str(parse_mesh(m)) for m in meshes], batches, isls, osls, repeats, warmup, trace,
                precision, suite_hash, cost_model)


def _check_host_memory(checkpoint, backend: str) -> None:
    """The emulator holds real weights on the host (bfloat16, converted through float32 temporaries): a
    full-size checkpoint cannot run there."""
    if getattr(checkpoint, "shape_only", False):
        return
    import psutil

    from tt_model.backend import backend_info, get_ttnn

    if backend_info(get_ttnn(backend))["backend"] != "emulated":
        return
    c = checkpoint.config
    params = c.num_hidden_layers * (c.hidden_size * c.head_dim * (2 * c.num_attention_heads + 2 * c.num_key_value_heads)
                                    + 3 * c.hidden_size * c.intermediate_size * c.num_local_experts) \
        + 2 * c.vocab_size * c.hidden_size
    if 4 * params > psutil.virtual_memory().total / 2:
        name = limits.published_name(c)
        hint = f"--size {name}" if name else "a smaller checkpoint"
        raise UserError(f"--model {checkpoint.path}: {4 * params / 2**30:.0f} GiB of float32 weights do not fit the "
                        f"emulator's host memory; model it without weights with {hint}, or run on a Wormhole")


def _checkpoint(request: PerfRequest, sweep):
    from ground.checkpoint import resolve_checkpoint
    from ground.settings import settings

    if request.size is not None:
        return shape_only(request.size), request.size
    label = request.suite.suite.name if request.suite else "tiny"
    explicit = request.model is not None or settings().hf_model is not None
    if not explicit and sweep is not None and sweep.size is not None:
        return shape_only(sweep.size), label
    suite_model = request.suite.suite.model if request.suite else None
    suite_dir = request.suite.source.parent if request.suite else None
    return resolve_checkpoint(request.model, suite_model, suite_dir), label


def shape_only(size: str):
    from reference.presets import PRESETS, published_config
    from tt_model.shape_only import ShapeOnlyCheckpoint

    if size not in ("20b", "120b"):
        raise UserError(f"--size {size!r} is not known; expected 20b or 120b")
    return ShapeOnlyCheckpoint(published_config(PRESETS[size]), size)


# ----------------------------------------------------------------------------- running
@dataclass
class Timed:
    host_s: float
    device_s: float | None   # modelled device time (emulator); None on a real device


def _timed(model, fn):
    model.synchronize()
    clock0, start = model.device_clock_ns(), time.perf_counter()
    out = fn()
    model.synchronize()
    host = time.perf_counter() - start
    clock1 = model.device_clock_ns()
    # the modelled clock counts whole picoseconds: the same step gives the very same float every time
    return out, Timed(host, None if clock0 is None else round((clock1 - clock0) * 1000) / 1e12)


def _next_tokens(logits: torch.Tensor) -> torch.Tensor:
    if logits.is_meta:  # shape-only: no values to choose from; the ids do not change any op's cost
        return torch.zeros(logits.shape[0], dtype=torch.long)
    return logits.argmax(-1)


@dataclass
class RunTimes:
    prefill: Timed
    steps: list[Timed]


def _one_run(model, ids, osl: int, signposts: bool = False) -> RunTimes:
    from tt_model.profiling import scope

    ttnn = model.model.ttnn
    if signposts:
        model.signpost("PREFILL_START")
    with scope(ttnn, "prefill"):
        logits, prefill = _timed(model, lambda: model.prefill(ids, max_new_tokens=osl))
    if signposts:
        model.signpost("PREFILL_END")
        model.signpost("DECODE_START")
    token, steps = _next_tokens(logits[:, -1]), []
    for step in range(osl):
        with scope(ttnn, decode_phase(step)):
            logits, t = _timed(model, lambda: model.decode_step(token))
        steps.append(t)
        token = _next_tokens(logits)
    if signposts:
        model.signpost("DECODE_END")
    return RunTimes(prefill, steps)


def _compile_run(model, ids, osl: int, trace: bool) -> tuple[Timed, Timed]:
    """First prefill, first decode step (compiles) and, with trace, the step that captures it. The caches are
    sized as the measured runs' (ISL + OSL), so the captured trace stays valid for them."""
    logits, prefill = _timed(model, lambda: model.prefill(ids, max_new_tokens=osl))
    token = _next_tokens(logits[:, -1])
    logits, first = _timed(model, lambda: model.decode_step(token))
    if trace:
        _, capture = _timed(model, lambda: model.decode_step(_next_tokens(logits)))
        first = Timed(first.host_s + capture.host_s,
                      None if first.device_s is None else first.device_s + capture.device_s)
    return prefill, first


def run_perf(request: PerfRequest, log: Log = lambda msg: None) -> list[MeshRun]:
    import tt_model

    p = plan(request)
    cost_model = p.cost_model
    profile = _measured(request.profile_csv, cost_model) if request.profile_csv else None
    runs = []
    for mesh in p.meshes:
        log(f"mesh {mesh}: loading {p.label} ({'shape-only' if getattr(p.checkpoint, 'shape_only', False) else p.checkpoint.path})")
        with _pricing(request.backend, cost_model):
            model = tt_model.load(p.checkpoint, mesh=mesh, backend=request.backend, precision=p.precision,
                                  trace=p.trace)
            try:
                runs.append(_run_mesh(p, model, mesh, cost_model, profile, request, log))
            finally:
                model.close()
    return runs


def _pricing(backend: str, cost_model):
    from tt_model.backend import backend_info, get_ttnn

    if backend_info(get_ttnn(backend))["backend"] != "emulated":
        return nullcontext()
    from tt_model.emulator import use_cost_model
    return use_cost_model(cost_model)


def _prompt(config, batch: int, isl: int) -> torch.Tensor:
    """Deterministic prompt ids: the speed of this model does not depend on which tokens it reads."""
    return torch.randint(config.vocab_size, (batch, isl), generator=torch.Generator().manual_seed(batch * 7919 + isl))


def _run_mesh(p: Plan, model, mesh: str, cost_model, profile, request, log) -> MeshRun:
    from tt_model.mesh import parse_mesh

    emulated = model.device_clock_ns() is not None
    devices = parse_mesh(mesh).num_devices
    points, rows, verdicts = [], [], []
    csv_records, csv_signposts = [], []
    for batch in p.batches:
        for isl in p.isls:
            for osl in p.osls:
                log(f"mesh {mesh}: batch {batch}, ISL {isl}, OSL {osl}: compile run")
                ids = _prompt(model.config, batch, isl)
                compile_prefill, compile_decode = _compile_run(model, ids, osl, p.trace)
                for _ in range(p.warmup):
                    _one_run(model, ids, osl)
                runs, log_records = [], None
                for r in range(p.repeats):
                    last = r == p.repeats - 1
                    with ExitStack() as stack:
                        recording = stack.enter_context(_recording()) if emulated and last else None
                        runs.append(_one_run(model, ids, osl, signposts=last))
                    if recording is not None:
                        log_records = recording
                log(f"mesh {mesh}: batch {batch}, ISL {isl}, OSL {osl}: {p.repeats} run(s) done")
                limit = limits.physical_limit(model.config, p.precision, devices, batch, isl, osl, cost_model)
                goal = limits.targets(model.config, mesh, limit, batch)
                # Host wall time of the emulator is reported for real weights only: in shape-only mode no
                # arithmetic runs, so it would time nothing a reader could use.
                shape_only = getattr(p.checkpoint, "shape_only", False)
                clocks = ([("modelled", "device")] + ([] if shape_only else [("measured", "host")]) if emulated
                          else [("measured", "device")])
                for timing, clock in clocks:
                    breakdown = []
                    if timing == "modelled" and log_records is not None:
                        breakdown = breakdowns(log_records.records, limit, osl)
                    elif timing == "measured" and clock == "device" and profile is not None:
                        breakdown = profile.breakdown
                    point = _point(mesh, batch, isl, osl, timing, clock, runs, compile_prefill, compile_decode,
                                   limit, goal, p, breakdown)
                    if timing == "modelled":
                        point.readiness = _readiness(model, breakdown)
                    points.append(point)
                    rows += point_rows(point)
                    verdicts += _verdicts(point)
                if log_records is not None and not csv_records:
                    csv_records, csv_signposts = _csv_slice(log_records, request.csv_decode_steps)
    result = _result(p, model, mesh, points, rows, verdicts, cost_model)
    return MeshRun(result, csv_records, csv_signposts, profile)


def _readiness(model, breakdown) -> Readiness | None:
    memory = model.device_memory()
    if memory is None:
        return None
    decode = next((b.ops for b in breakdown if b.phase == "decode"), 0)
    return Readiness(**memory, ops_per_decode_step=decode)


def _recording():
    from tt_model.emulator import recording
    return recording()


# ----------------------------------------------------------------------------- statistics and points
def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def step_stats(samples_ms: list[float]) -> StepStats:
    return StepStats(mean=statistics.fmean(samples_ms), p50=quantile(samples_ms, 0.5), p90=quantile(samples_ms, 0.9),
                     p99=quantile(samples_ms, 0.99))


def _seconds(t: Timed, timing: str) -> float:
    return t.device_s if timing == "modelled" else t.host_s


def _point(mesh, batch, isl, osl, timing, clock, runs, compile_prefill, compile_decode, limit, goal, p,
           breakdown) -> PerfPoint:
    prefill_ms = [_seconds(r.prefill, timing) * 1e3 for r in runs]
    samples = [_seconds(t, timing) * 1e3 for r in runs for t in r.steps[1:]]  # step 0 of each run excluded
    stats = step_stats(samples)
    first_token = statistics.fmean(prefill_ms)
    tpsu = 1e3 / stats.mean
    device = clock == "device"
    ttft = first_token / batch
    return PerfPoint(
        mesh=mesh, batch=batch, isl=isl, osl=osl, timing=timing, clock=clock, ttft_ms=ttft,
        first_token_ms=first_token, decode_ms=stats, tokens_per_s_per_user=tpsu, tokens_per_s=tpsu * batch,
        prefill_tokens_per_s=batch * isl / (first_token / 1e3),
        compile_s=_seconds(compile_prefill, timing) + _seconds(compile_decode, timing),
        compile_prefill_s=_seconds(compile_prefill, timing), compile_decode_s=_seconds(compile_decode, timing),
        pct_of_limit=limit.pct(stats.mean / 1e3, limit.decode_s) if device else None,
        pct_of_limit_prefill=limit.pct(first_token / 1e3, limit.prefill_s) if device else None,
        tier=limits.tier(ttft, tpsu, goal) if device else None, targets=goal if device else None,
        limit_decode_ms=limit.decode_s * 1e3, limit_prefill_ms=limit.prefill_s * 1e3, samples_ms=samples,
        prefill_samples_ms=prefill_ms, repeats=p.repeats, trace=p.trace, breakdown=breakdown)


def point_rows(point: PerfPoint) -> list[Row]:
    """The flat keyed rows of a point (what the store, the gate and the report group on)."""
    key = dict(mesh=point.mesh, batch=point.batch, isl=point.isl, osl=point.osl, timing=point.timing,
               clock=point.clock)
    rows = [Row(metric="ttft_ms", value=point.ttft_ms, samples=[s / point.batch for s in point.prefill_samples_ms],
                **key),
            Row(metric="first_token_ms", value=point.first_token_ms, **key),
            Row(metric="tokens_per_s_per_user", value=point.tokens_per_s_per_user, **key),
            Row(metric="tokens_per_s", value=point.tokens_per_s, **key),
            Row(metric="prefill_tokens_per_s", value=point.prefill_tokens_per_s, **key),
            Row(metric="compile_s", value=point.compile_s, **key),
            Row(metric="compile_s", phase="prefill", value=point.compile_prefill_s, **key),
            Row(metric="compile_s", phase="decode", value=point.compile_decode_s, **key)]
    for stat in ("mean", "p50", "p90", "p99"):
        rows.append(Row(metric="decode_ms", stat=stat, value=getattr(point.decode_ms, stat),
                        samples=point.samples_ms if stat == "mean" else None, **key))
    if point.pct_of_limit is not None:
        rows.append(Row(metric="pct_of_limit", phase="decode", value=point.pct_of_limit, **key))
        rows.append(Row(metric="pct_of_limit", phase="prefill", value=point.pct_of_limit_prefill, **key))
    for b in point.breakdown:
        for c in b.categories:
            rows.append(Row(metric="op_time_ms", phase=b.phase, category=c.category, value=c.ms, **key))
            rows.append(Row(metric="op_time_share", phase=b.phase, category=c.category, value=c.share, **key))
            if c.pct_of_limit is not None:
                rows.append(Row(metric="pct_of_limit", phase=b.phase, category=c.category, value=c.pct_of_limit,
                                **key))
        for bound, share in b.bound_shares.items():
            rows.append(Row(metric="op_time_share", phase=b.phase, field=bound, value=share, **key))
    return rows


def _verdicts(point: PerfPoint) -> list[Verdict]:
    """A device time below the physical limit means the cost model or the measurement is wrong."""
    if point.pct_of_limit is None:
        return []
    key = dict(mesh=point.mesh, batch=point.batch, isl=point.isl, osl=point.osl, timing=point.timing,
               clock=point.clock)
    out = []
    for phase, value in (("decode", point.pct_of_limit), ("prefill", point.pct_of_limit_prefill)):
        ok = value is not None and value <= 100.0 + 1e-9
        out.append(Verdict(metric="pct_of_limit", phase=phase, state="pass" if ok else "fail", value=value,
                           threshold=100.0, message=f"{phase} at {value:.1f} % of the physical limit"
                           + ("" if ok else ": faster than the hardware allows"), **key))
    return out


# ----------------------------------------------------------------------------- op breakdown
def category(record) -> str:
    if record.op_class == "ccl":
        return "CCL"
    if record.op_class in DATA_MOVEMENT:
        return "data movement"
    parts = record.scope.split("/")
    return next((m for m in MODULES if m in parts), "other")


def _phase(scope: str) -> tuple[str, int | None]:
    phase, step = phase_key(scope.split("/", 1)[0])
    return (phase, step) if phase in ("prefill", "decode") else ("other", None)


def breakdowns(records, limit: limits.Limit, osl: int) -> list[Breakdown]:
    """Per phase (prefill; decode per step, steps 1.. averaged): device time by category, top ops, bounds."""
    out = []
    phases = [(_phase(r.scope), r) for r in records]
    prefill = [r for (phase, _), r in phases if phase == "prefill"]
    decode = [r for (phase, step), r in phases if phase == "decode" and step >= 1]
    steps = max(1, osl - 1)
    if prefill:
        out.append(_breakdown("prefill", prefill, 1, None, "modelled op trace"))
    if decode:
        out.append(_breakdown("decode", decode, steps, limit.decode_category_s, "modelled op trace"))
    return out


def _breakdown(phase, records, per, limit_s, source) -> Breakdown:
    total = sum(r.device_ns for r in records) / per / 1e6
    cats: dict[str, float] = {}
    ops: dict[tuple, list] = {}
    bounds: dict[str, float] = {}
    for r in records:
        ms, cat = r.device_ns / per / 1e6, category(r)
        cats[cat] = cats.get(cat, 0.0) + ms
        entry = ops.setdefault((r.op, cat, r.op_class), [0, 0.0, {}])
        entry[0] += 1
        entry[1] += ms
        entry[2][r.bound] = entry[2].get(r.bound, 0.0) + r.kernel_ns
        bounds[r.bound] = bounds.get(r.bound, 0.0) + r.kernel_ns / per / 1e6
        bounds["dispatch"] = bounds.get("dispatch", 0.0) + r.dispatch_ns / per / 1e6
    categories = []
    for name in sorted(cats, key=cats.get, reverse=True):
        lim = (limit_s or {}).get(name)
        lim_ms = lim * 1e3 if lim is not None else None
        categories.append(CategoryTime(category=name, ms=cats[name], share=cats[name] / total if total else 0.0,
                                       limit_ms=lim_ms, pct_of_limit=100.0 * lim_ms / cats[name]
                                       if lim_ms is not None and cats[name] > 0 else None))
    top = sorted(ops.items(), key=lambda kv: kv[1][1], reverse=True)[:TOP_OPS]
    top_ops = [OpTime(op=op, category=cat, op_class=cls, count=round(n / per), ms=ms, share=ms / total if total else 0,
                      bound=max(b, key=b.get) if b else "") for (op, cat, cls), (n, ms, b) in top]
    return Breakdown(phase=phase, total_ms=total, categories=categories, top_ops=top_ops,
                     bound_shares={k: v / total for k, v in bounds.items()} if total else {},
                     ops=round(len(records) / per), source=source)


def _measured(path: Path, cost_model) -> MeasuredProfile:
    from bench.calibrate import compare
    from bench.profiler_csv import read_csv

    trace = read_csv(path)
    return MeasuredProfile(path, compare(trace, cost_model), _profile(trace, cost_model))


def _profile(trace, cost_model) -> list[Breakdown]:
    """A hardware run's profiler CSV as the same per-op breakdown (decode between DECODE_START/END when present)."""
    names = {n for _, n in trace.signposts}
    out = []
    for phase, start, end in (("prefill", "PREFILL_START", "PREFILL_END"), ("decode", "DECODE_START", "DECODE_END")):
        ops = trace.between(start, end) if start in names else (trace.ops if phase == "decode" else [])
        records = []
        for op in ops:
            cost = cost_model._price(op.record)
            r = op.record
            r.kernel_ns, r.dispatch_ns, r.op_class, r.bound = op.measured_ns, op.op_to_op_ns, cost.op_class, cost.bound
            records.append(r)
        if records:
            out.append(_breakdown(phase, records, 1, None, f"measured: {trace.source}"))
    return out


def _csv_slice(recording, decode_steps: int):
    """Prefill and the first ``decode_steps`` decode steps of the recorded run, with their signposts."""
    keep = []
    for record in recording.records:
        phase, step = _phase(record.scope)
        if phase == "prefill" or (phase == "decode" and step < decode_steps):
            keep.append(record)
    first_decode = next((i for i, r in enumerate(keep) if _phase(r.scope)[0] == "decode"), len(keep))
    marks = [(0, "PREFILL_START"), (first_decode, "PREFILL_END"), (first_decode, "DECODE_START")]
    return keep, marks


def _result(p: Plan, model, mesh: str, points, rows, verdicts, cost_model) -> RunResult:
    from bench.provenance import git_commit, host, library_versions

    info = model.backend_info
    versions = library_versions()
    constants = json.dumps(cost_model.constants(), sort_keys=True).encode()
    versions["wormhole_cost_model"] = hashlib.sha256(constants).hexdigest()[:16]
    ck = p.checkpoint
    provenance = Provenance(git_commit=git_commit(), host=host(), backend=info["backend"],
                            ttnn_version=info.get("ttnn_version"), mesh=mesh, model_path=str(ck.path),
                            model_identity=ck.identity, model_config_hash=ck.config_hash,
                            precision=info.get("precision", {}), suite_name=p.label, suite_hash=p.suite_hash,
                            versions=versions)
    settings = {"repeats": p.repeats, "warmup": p.warmup, "trace": p.trace, "batch": p.batches, "isl": p.isls,
                "osl": p.osls, "pct_of_limit_max": 100.0}
    return RunResult(kind="perf", run_id=new_run_id(), time=utc_now(), provenance=provenance, thresholds=settings,
                     rows=rows, verdicts=verdicts, points=points)
