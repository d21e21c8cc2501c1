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

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b

    def worst(self, values):
        return min(values) if self.higher_is_better else max(values)


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
)}


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise UserError(f"unknown metric {name!r}; declared: {', '.join(METRICS)}") from None
