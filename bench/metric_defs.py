"""Every metric a result can hold, declared once: name, unit, direction, what it measures.

Results rows, verdicts, the summary, the store, the gate and the report all look a metric up
here; none of them special-cases a metric by name to learn which way is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ground.errors import UserError

Group = Literal["accuracy", "speed", "task", "info"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # "" for dimensionless
    higher_is_better: bool
    group: Group
    description: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("pcc", "", True, "accuracy",
           "Pearson correlation of a captured tensor, device against reference (layer fields, final_norm, logits)"),
    Metric("routing_exact", "fraction", True, "accuracy",
           "share of tokens whose top-k expert set on the device equals the reference's"),
    Metric("routing_overlap", "fraction", True, "accuracy", "mean |device experts ∩ reference experts| / k"),
    Metric("top1", "fraction", True, "accuracy",
           "teacher-forced: device top-1 token equals the reference's top-1"),
    Metric("top5", "fraction", True, "accuracy", "teacher-forced: device top-1 token is in the reference's top-5"),
    Metric("kl", "nats", False, "accuracy", "teacher-forced mean KL(reference || device) of next-token distributions"),
    Metric("text_top1", "fraction", True, "info", "top-1 prediction equals the next token of a fixed text"),
    Metric("wall_seconds", "s", False, "info", "host wall time of a phase (on the emulator: not a device time)"),
    # lm-eval task scores (bench.eval_compare); rows keyed by task, task_metric and side.
    Metric("task_score", "", True, "task",
           "one side's lm-eval score of a task (acc, exact_match, ...), stderr as lm-eval computes it; "
           "lm-eval's higher_is_better for the task_metric says which way is better (perplexity: lower); "
           "such rows carry higher_is_better=False and the gate follows them"),
    Metric("task_delta", "", True, "task", "device task_score - reference task_score (paired stderr when per-document "
           "scores were logged); runs the task metric's way, as task_score"),
    Metric("task_ratio", "", True, "task",
           "device / reference task_score (reference / device for lower-is-better task metrics): > 1 is the device "
           "doing better; a task passes at >= 1 - tolerance"),
    Metric("task_disagree", "fraction", False, "task", "share of a task's documents scored differently by device "
           "and reference on the task's metric"),
    # speed (bench.perf); rows keyed by mesh, batch, isl, osl, timing (modelled | measured), clock (device | host)
    Metric("ttft_ms", "ms", False, "speed", "time to first token: prefill time / batch (tt-metal's demo)"),
    Metric("first_token_ms", "ms", False, "speed", "prefill time of the whole batch: latency until every user "
           "has its first token"),
    Metric("decode_ms", "ms", False, "speed", "decode step time (stat: mean, p50, p90, p99; step 0 of each run "
           "excluded; the mean row carries the raw samples)"),
    Metric("tokens_per_s_per_user", "tokens/s", True, "speed", "1 / mean decode step time"),
    Metric("tokens_per_s", "tokens/s", True, "speed", "tokens_per_s_per_user x batch"),
    Metric("prefill_tokens_per_s", "tokens/s", True, "speed", "batch x ISL / prefill time"),
    Metric("compile_s", "s", False, "speed", "the compile run (first prefill + first decode step), timed apart "
           "(phase prefill / decode: each part)"),
    Metric("pct_of_limit", "%", True, "speed", "physical limit / time x 100 (decode step; phase prefill: the "
           "prefill; category: that op category's share)"),
    Metric("op_time_share", "fraction", False, "info", "share of a phase's device time spent in an op category "
           "(category) or bound (field: DRAM, compute, CCL, latency, dispatch)"),
    Metric("op_time_ms", "ms", False, "info", "device time per phase of an op category"),
)}


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise UserError(f"unknown metric {name!r}; declared: {', '.join(METRICS)}") from None
