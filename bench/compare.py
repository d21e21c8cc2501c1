"""Field-by-field comparison of two ``Captures`` (reference vs device).

Both sides use the same names, so this is a loop over keys. The results are flat rows that the
results schema, the SQLite store and the reports all consume without reshaping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from bench.metrics import mean_kl, pcc, routing_agreement, topk_agreement
from ground.captures import INTEGER_FIELDS, LAYER_FIELDS, MODEL_FIELDS, Captures

# Fields compared by PCC; ids are compared as sets (routing agreement) instead.
PCC_LAYER_FIELDS = tuple(f for f in LAYER_FIELDS if f not in INTEGER_FIELDS and f != "topk_weights")


@dataclass(frozen=True)
class FieldPcc:
    phase: str
    layer: int | None  # None for model-level fields (final_norm, logits)
    field: str
    value: float
    method: str
    reason: str = ""


@dataclass(frozen=True)
class RoutingRow:
    phase: str
    layer: int
    exact: float
    overlap: float
    tokens: int
    finite: bool = True  # False: a side's router logits hold NaN/inf, so its expert choice means nothing


@dataclass(frozen=True)
class LogitsRow:
    phase: str
    top1: float
    top5: float
    kl: float


def _token_mask(mask: torch.Tensor | None, tensor: torch.Tensor) -> torch.Tensor | None:
    """Restricts comparisons to real tokens: padded positions carry no meaning on either side."""
    if mask is None:
        return None
    return mask[:, -tensor.shape[1]:].bool()


def _masked(tensor: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return tensor if mask is None else tensor[mask]


def _phase_names(reference: Captures, device: Captures) -> list[str]:
    missing = [p for p in reference.phases if p not in device.phases]
    if missing:
        raise ValueError(f"device captures lack phases {missing}; reference has {list(reference.phases)}")
    return list(reference.phases)


def layer_pccs(reference: Captures, device: Captures, mask: torch.Tensor | None = None) -> list[FieldPcc]:
    """PCC of every float field, every layer, every phase (mask: [B, S_prompt] for the prefill)."""
    rows: list[FieldPcc] = []
    for phase in _phase_names(reference, device):
        ref_phase, dev_phase = reference.phases[phase], device.phases[phase]
        phase_mask = mask if phase == "prefill" else None
        for i, ref_layer in enumerate(ref_phase.layers):
            for name in PCC_LAYER_FIELDS:
                if name in ref_layer and i < len(dev_phase.layers) and name in dev_phase.layers[i]:
                    rows.append(_field_row(phase, i, name, ref_layer[name], dev_phase.layers[i][name], phase_mask))
        for name in MODEL_FIELDS:
            if name in ref_phase.model and name in dev_phase.model:
                rows.append(_field_row(phase, None, name, ref_phase.model[name], dev_phase.model[name], phase_mask))
    return rows


def _field_row(phase, layer, name, ref, dev, mask) -> FieldPcc:
    token_mask = _token_mask(mask, ref)
    result = pcc(_masked(ref.float(), token_mask), _masked(dev.float(), token_mask))
    return FieldPcc(phase, layer, name, result.value, result.method, result.reason)


def routing_rows(reference: Captures, device: Captures, mask: torch.Tensor | None = None) -> list[RoutingRow]:
    rows: list[RoutingRow] = []
    for phase in _phase_names(reference, device):
        phase_mask = mask if phase == "prefill" else None
        for i, ref_layer in enumerate(reference.phases[phase].layers):
            if "topk_ids" not in ref_layer:
                continue
            dev_layer = device.phases[phase].layers[i]
            ref_ids, dev_ids = ref_layer["topk_ids"], dev_layer["topk_ids"]
            agreement = routing_agreement(ref_ids, dev_ids, _token_mask(phase_mask, ref_ids))
            finite = all(bool(torch.isfinite(layer["router_logits"]).all()) for layer in (ref_layer, dev_layer)
                         if "router_logits" in layer)
            rows.append(RoutingRow(phase, i, agreement.exact, agreement.overlap, agreement.tokens, finite))
    return rows


def logits_rows(reference: Captures, device: Captures, mask: torch.Tensor | None = None) -> list[LogitsRow]:
    rows: list[LogitsRow] = []
    for phase in _phase_names(reference, device):
        ref_logits = reference.phases[phase].model["logits"].float()
        dev_logits = device.phases[phase].model["logits"].float()
        token_mask = _token_mask(mask if phase == "prefill" else None, ref_logits)
        rows.append(
            LogitsRow(
                phase,
                top1=topk_agreement(ref_logits, dev_logits, k=1, mask=token_mask),
                top5=topk_agreement(ref_logits, dev_logits, k=5, mask=token_mask),
                kl=mean_kl(ref_logits, dev_logits, mask=token_mask),
            )
        )
    return rows


def worst(rows: list[FieldPcc]) -> FieldPcc | None:
    """The lowest PCC row; a NaN (failed) row counts as the worst of all."""
    if not rows:
        return None
    return min(rows, key=lambda r: -math.inf if math.isnan(r.value) else r.value)
