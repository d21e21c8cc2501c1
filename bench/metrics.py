"""Comparison metrics between a reference tensor (HF CPU) and a device tensor (TT-NN).

PCC follows tt-metal's ``comp_pcc`` where its rules are sound (bit-equal tensors score 1.0, the
device tensor is cast to the reference dtype) and is stricter where they are not:

* ``comp_pcc`` zeroes NaN/inf before correlating, so a device tensor that overflowed in a few
  places can still score 0.99, and NaN on both sides scores 1.0. Here any NaN or inf, on either
  side, fails: the value is NaN, ``method`` is "nonfinite" and ``reason`` counts them. A metric
  never passes on values that are not numbers.
* ``comp_pcc`` returns 1.0 for a constant tensor (numpy masks the undefined correlation).
  PCC is undefined there, so a constant operand is judged by allclose instead and the
  result says so (``method="allclose"``).

Token metrics (top-k agreement, token accuracy, KL) return NaN when either side's logits hold a
non-finite value at a compared position; the runner records that as the "nonfinite" state.
All arithmetic runs in float64 so the metric never adds error of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class PccResult:
    value: float
    method: str  # "pcc" | "exact" | "allclose" | "nonfinite"
    reason: str = ""

    def passed(self, threshold: float) -> bool:
        # NaN compares False, so a non-finite result can never pass.
        return self.value >= threshold

    def __str__(self) -> str:
        text = f"{self.value:.6f}" if not math.isnan(self.value) else "nan"
        return f"{text} ({self.method}: {self.reason})" if self.reason else text


@dataclass(frozen=True)
class AllcloseStats:
    max_abs_error: float
    mean_abs_error: float
    max_rel_error: float
    allclose: bool


def _check_shapes(expected: torch.Tensor, actual: torch.Tensor) -> None:
    if expected.shape != actual.shape:
        raise ValueError(f"shape mismatch: reference {tuple(expected.shape)} vs device {tuple(actual.shape)}")
    if expected.numel() == 0:
        raise ValueError("cannot compare empty tensors")


def _as_float64(expected: torch.Tensor, actual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # comp_pcc casts the device tensor to the reference dtype first (so bf16 device output
    # compared with a bf16 reference rounds the same way); then widen both for the maths.
    if actual.dtype != expected.dtype and expected.is_floating_point():
        actual = actual.to(expected.dtype)
    return expected.detach().double().flatten(), actual.detach().double().flatten()


def _nonfinite(exp: torch.Tensor, act: torch.Tensor) -> PccResult | None:
    """A failing result when either side holds NaN/inf, else None."""
    counts = {side: int((~torch.isfinite(t)).sum()) for side, t in (("reference", exp), ("device", act))}
    if not any(counts.values()):
        return None
    reason = ", ".join(f"{side} has {n} NaN/inf" for side, n in counts.items() if n)
    return PccResult(float("nan"), "nonfinite", reason)


def pcc(expected: torch.Tensor, actual: torch.Tensor, atol: float = 1e-3, rtol: float = 1e-3) -> PccResult:
    """Pearson correlation of ``actual`` (device) against ``expected`` (reference)."""
    _check_shapes(expected, actual)
    exp, act = _as_float64(expected, actual)
    failure = _nonfinite(exp, act)
    if failure is not None:
        return failure
    if torch.equal(exp, act):
        return PccResult(1.0, "exact")
    exp_c, act_c = exp - exp.mean(), act - act.mean()
    exp_norm, act_norm = exp_c.norm(), act_c.norm()
    if exp_norm == 0 or act_norm == 0:
        close = torch.allclose(act, exp, atol=atol, rtol=rtol)
        which = "reference" if exp_norm == 0 else "device"
        return PccResult(1.0 if close else 0.0, "allclose", f"{which} tensor is constant; allclose(atol={atol}, rtol={rtol}) = {close}")
    value = float((exp_c @ act_c) / (exp_norm * act_norm))
    return PccResult(max(-1.0, min(1.0, value)), "pcc")


def allclose_stats(expected: torch.Tensor, actual: torch.Tensor, atol: float = 1e-2, rtol: float = 1e-2) -> AllcloseStats:
    _check_shapes(expected, actual)
    exp, act = _as_float64(expected, actual)
    diff = (exp - act).abs()
    # Relative error against the reference magnitude; tiny references would make it explode,
    # so positions below atol contribute their absolute error scaled by atol instead.
    rel = diff / exp.abs().clamp_min(atol)
    return AllcloseStats(
        max_abs_error=float(diff.max()),
        mean_abs_error=float(diff.mean()),
        max_rel_error=float(rel.max()),
        allclose=bool(torch.allclose(act, exp, atol=atol, rtol=rtol)),
    )


def _finite_at(keep: torch.Tensor, *logits: torch.Tensor) -> bool:
    """Every compared position's logits are finite (argmax/topk of a NaN row is meaningless)."""
    return all(bool(torch.isfinite(t[keep]).all()) for t in logits)


def _positions(mask: torch.Tensor | None, shape: torch.Size) -> torch.Tensor:
    if mask is None:
        return torch.ones(shape, dtype=torch.bool)
    if mask.shape != shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match positions {tuple(shape)}")
    return mask.bool()


def topk_agreement(ref_logits: torch.Tensor, dev_logits: torch.Tensor, k: int = 1, mask: torch.Tensor | None = None) -> float:
    """Fraction of positions whose device top-1 token is among the reference's top-k.

    k=1 is plain top-1 agreement; k=5 is tt-metal's "top-5": device top-1 within reference top-5.
    """
    _check_shapes(ref_logits, dev_logits)
    keep = _positions(mask, ref_logits.shape[:-1])
    if not _finite_at(keep, ref_logits, dev_logits):
        return float("nan")
    dev_top1 = dev_logits.argmax(dim=-1, keepdim=True)
    ref_topk = ref_logits.topk(k, dim=-1).indices
    hit = (ref_topk == dev_top1).any(dim=-1)
    return float(hit[keep].double().mean()) if keep.any() else float("nan")


def token_accuracy(logits: torch.Tensor, targets: torch.Tensor, k: int = 1, mask: torch.Tensor | None = None) -> float:
    """Fraction of positions whose target token is among the top-k of ``logits``."""
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match targets {tuple(targets.shape)}")
    keep = _positions(mask, targets.shape)
    if not _finite_at(keep, logits):
        return float("nan")
    hit = (logits.topk(k, dim=-1).indices == targets.unsqueeze(-1)).any(dim=-1)
    return float(hit[keep].double().mean()) if keep.any() else float("nan")


def mean_kl(ref_logits: torch.Tensor, dev_logits: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Mean KL(reference || device) of the next-token distributions, in nats."""
    _check_shapes(ref_logits, dev_logits)
    keep = _positions(mask, ref_logits.shape[:-1])
    ref_logp = torch.log_softmax(ref_logits.double(), dim=-1)
    dev_logp = torch.log_softmax(dev_logits.double(), dim=-1)
    kl = (ref_logp.exp() * (ref_logp - dev_logp)).sum(dim=-1)
    return float(kl[keep].mean()) if keep.any() else float("nan")


@dataclass(frozen=True)
class RoutingAgreement:
    exact: float  # fraction of tokens whose expert set equals the reference's
    overlap: float  # mean |device ∩ reference| / k
    tokens: int


def routing_agreement(ref_ids: torch.Tensor, dev_ids: torch.Tensor, mask: torch.Tensor | None = None) -> RoutingAgreement:
    """Compares chosen expert sets per token, ignoring order within the top-k."""
    _check_shapes(ref_ids, dev_ids)
    k = ref_ids.shape[-1]
    keep = _positions(mask, ref_ids.shape[:-1])
    ref, dev = ref_ids[keep].long(), dev_ids[keep].long()
    if ref.numel() == 0:
        return RoutingAgreement(float("nan"), float("nan"), 0)
    common = (ref.unsqueeze(-1) == dev.unsqueeze(-2)).any(dim=-1).sum(dim=-1)
    return RoutingAgreement(
        exact=float((common == k).double().mean()),
        overlap=float((common.double() / k).mean()),
        tokens=int(ref.shape[0]),
    )


# Registry the runner iterates: metric name -> function of (reference, device) tensors.
TENSOR_METRICS: dict[str, Callable[..., object]] = {
    "pcc": pcc,
    "allclose": allclose_stats,
}
