import math

import pytest
import torch
from capture_factory import copy_captures, filled_captures

from bench.compare import PCC_LAYER_FIELDS, layer_pccs, logits_rows, routing_rows, worst


def test_identical_captures_score_exact_everywhere():
    ref = filled_captures(num_layers=3)
    rows = layer_pccs(ref, copy_captures(ref))
    # 8 float fields x 3 layers + 2 model fields, for each of 2 phases
    assert len(rows) == 2 * (len(PCC_LAYER_FIELDS) * 3 + 2)
    assert all(r.value == 1.0 and r.method == "exact" for r in rows)
    assert {r.field for r in rows} >= {"attn_out", "router_logits", "moe_out", "attn_norm", "mlp_norm", "logits"}


def test_perturbed_layer_is_the_worst_row():
    ref = filled_captures(num_layers=3, seq=16, hidden=64)
    dev = copy_captures(ref)
    out = dev.phases["prefill"].layers[1]["moe_out"]
    dev.phases["prefill"].layers[1]["moe_out"] = out + torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    row = worst(layer_pccs(ref, dev))
    assert (row.phase, row.layer, row.field) == ("prefill", 1, "moe_out")
    assert 0.6 < row.value < 0.8  # unit-variance noise on unit-variance data: 1/sqrt(2)


def test_padding_positions_are_ignored():
    ref = filled_captures(num_layers=1, batch=2, seq=6)
    dev = copy_captures(ref)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, :2] = False  # left padding of the second prompt
    dev.phases["prefill"].layers[0]["layer_out"][1, :2] = float("nan")
    masked = [r for r in layer_pccs(ref, dev, mask) if r.field == "layer_out" and r.phase == "prefill"]
    assert masked[0].value == 1.0
    unmasked = [r for r in layer_pccs(ref, dev) if r.field == "layer_out" and r.phase == "prefill"]
    assert math.isnan(unmasked[0].value)


def test_routing_and_logits_rows():
    ref = filled_captures(num_layers=2, batch=1, seq=4, experts=8, k=4)
    dev = copy_captures(ref)
    ids = dev.phases["prefill"].layers[0]["topk_ids"]
    dev.phases["prefill"].layers[0]["topk_ids"] = ids.flip(-1)  # same sets, other order
    dev.phases["decode_0"].layers[1]["topk_ids"] = (ids[:, :1] + 1) % 8
    rows = {(r.phase, r.layer): r for r in routing_rows(ref, dev)}
    assert rows[("prefill", 0)].exact == 1.0 and rows[("prefill", 0)].tokens == 4
    assert rows[("decode_0", 1)].tokens == 1
    logits = logits_rows(ref, dev)
    assert [r.phase for r in logits] == ["prefill", "decode_0"]
    assert logits[0].top1 == 1.0 and logits[0].kl == pytest.approx(0.0, abs=1e-12)


def test_missing_device_phase_is_an_error():
    ref = filled_captures()
    dev = copy_captures(ref)
    del dev.phases["decode_0"]
    with pytest.raises(ValueError, match="lack phases"):
        layer_pccs(ref, dev)
