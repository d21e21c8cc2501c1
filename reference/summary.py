"""Per-layer summary of reference captures: the table `gptoss-bench reference` prints."""

from __future__ import annotations

from collections import Counter

import torch

from ground.captures import Captures


def layer_rows(captures: Captures, phase: str = "prefill", top: int = 4) -> list[dict]:
    """One row per layer: RMS of the residual stream and block outputs, most-used experts."""
    rows = []
    for i, layer in enumerate(captures.phases[phase].layers):
        counts = Counter(layer["topk_ids"].flatten().tolist())
        total = sum(counts.values())
        rows.append({
            "layer": i,
            "layer_out_rms": _rms(layer["layer_out"]),
            "attn_out_rms": _rms(layer["attn_out"]),
            "moe_out_rms": _rms(layer["moe_out"]),
            "router_logit_std": float(layer["router_logits"].std()),
            "experts_used": len(counts),
            "top_experts": [(expert, n / total) for expert, n in counts.most_common(top)],
        })
    return rows


def _rms(tensor: torch.Tensor) -> float:
    return float(tensor.float().pow(2).mean().sqrt())


def render_table(captures: Captures, phase: str = "prefill"):
    from rich.table import Table

    table = Table(title=f"reference captures: {phase}, {captures.num_layers} layers")
    for column in ("layer", "layer_out rms", "attn_out rms", "moe_out rms", "router std", "experts used", "top experts (share of picks)"):
        table.add_column(column, justify="right" if column != "top experts (share of picks)" else "left")
    for row in layer_rows(captures, phase):
        top = ", ".join(f"{e}:{share:.0%}" for e, share in row["top_experts"])
        table.add_row(str(row["layer"]), f"{row['layer_out_rms']:.4f}", f"{row['attn_out_rms']:.4f}",
                      f"{row['moe_out_rms']:.4f}", f"{row['router_logit_std']:.3f}", str(row["experts_used"]), top)
    return table
