"""The reference's time and memory estimate (reference.costs) and its fast MXFP4 dequantization."""

import math

import pytest
import torch

from ground.config import ModelConfig
from ground.mxfp4 import dequantize_mxfp4
from reference import costs
from reference.mxfp4_lut import Dequantizer
from reference.presets import get_preset, published_config

GIB = 2**30
RATES = costs.Rates(layer_build=0.5, expert_fetch=0.05, expert_token=0.001, attention_token=0.002,
                    attention_pair=1e-6, head_fetch=2.0, head_fixed=0.2, head_token=0.02)


def _published(name: str, layers: int | None = None) -> ModelConfig:
    return ModelConfig.from_dict(published_config(get_preset(name), layers))


def test_lut_dequantization_equals_ground_bit_for_bit():
    generator = torch.Generator().manual_seed(0)
    # Every byte value in every position, every finite E8M0 scale (255 is NaN by the spec).
    blocks = torch.arange(256, dtype=torch.uint8).repeat(255 * 16 // 256 + 1)[: 255 * 16].reshape(255, 1, 16)
    scales = torch.arange(255, dtype=torch.uint8).reshape(255, 1)
    random_blocks = torch.randint(0, 256, (64, 90, 16), dtype=torch.uint8, generator=generator)
    random_scales = torch.randint(100, 140, (64, 90), dtype=torch.uint8, generator=generator)
    dequantize = Dequantizer()
    for b, s in ((blocks, scales), (random_blocks, random_scales)):
        ours, ground = dequantize(b, s, "w"), dequantize_mxfp4(b, s)
        assert ours.shape == ground.shape and torch.equal(ours.view(torch.int32), ground.view(torch.int32))
    first = dequantize(random_blocks, random_scales, "w").data_ptr()
    assert dequantize(random_blocks, random_scales, "w").data_ptr() == first  # buffers reused, not reallocated
    assert dequantize(random_blocks, random_scales, "other").data_ptr() != first
    with pytest.raises(ValueError, match="do not match"):
        dequantize(random_blocks, random_scales[:, :3], "w")


def test_expected_experts_per_visit():
    config = _published("20b")
    assert costs.expected_experts(config, 1) == pytest.approx(4)
    assert costs.expected_experts(config, 2) == pytest.approx(32 * (1 - (28 / 32) ** 2))
    assert 31.9 < costs.expected_experts(config, 128) <= 32


def test_a_streamed_pass_adds_up_its_pieces():
    config = _published("20b", layers=2)
    shape = costs.PassShape("p", (costs.ChunkShape(1, 160, 0), costs.ChunkShape(1, 96, 0)))
    tokens = 256
    experts = costs.expected_experts(config, tokens)
    attention = sum(n * (RATES.attention_token + n * RATES.attention_pair) for n in (160, 96))
    layer = RATES.layer_build + experts * RATES.expert_fetch + tokens * 4 * RATES.expert_token + attention
    head = RATES.head_fetch + RATES.head_fixed + (tokens - 1) * RATES.head_token
    stream = costs.estimate(config, RATES, [shape], "stream")
    assert stream.setup == 0 and stream.passes[0] == pytest.approx([layer, layer, head])
    assert stream.seconds == pytest.approx(2 * layer + head)
    # Whole: built once with every expert dequantized (setup), then no fetches per visit.
    whole = costs.estimate(config, RATES, [shape], "whole")
    assert whole.setup == pytest.approx(2 * (RATES.layer_build + 32 * RATES.expert_fetch) + RATES.head_fetch)
    assert whole.passes[0][0] == pytest.approx(layer - RATES.layer_build - experts * RATES.expert_fetch)


def test_greedy_steps_see_the_sliding_window_cache():
    config = _published("20b", layers=2)  # layer 0 sliding (window 128), layer 1 full attention
    step = costs.PassShape("step", (costs.ChunkShape(1, 1, 1000),))
    seconds = costs.estimate(config, RATES, [step], "resident").passes[0]
    assert seconds[1] - seconds[0] == pytest.approx((1001 - 128) * RATES.attention_pair)


def test_resident_and_whole_bytes_of_the_published_models():
    twenty, big = _published("20b"), _published("120b")
    # Packed experts: 24 layers x 32 experts x 3 x 2880^2 values at 4.25 bits: ~10.2 GB.
    assert 24 * costs.packed_layer_bytes(twenty) == 24 * 32 * 3 * 2880 * 2880 * 17 // 32
    assert 13 * GIB < costs.resident_bytes(twenty) < 16 * GIB
    assert costs.resident_bytes(big) > 60 * GIB
    assert costs.whole_bytes(twenty) > 70 * GIB


def test_resident_fits_is_a_share_of_total_ram():
    from reference.runner import resident_fits

    assert not resident_fits(_published("20b"), total_ram=24 * GIB)
    assert resident_fits(_published("20b"), total_ram=64 * GIB)
    assert not resident_fits(_published("120b"), total_ram=64 * GIB)
    assert resident_fits(_published("20b", layers=2), total_ram=24 * GIB)


def test_measured_rates_and_plan_on_the_tiny_model(tiny_random):
    from reference.runner import Request, plan_references

    ids = torch.randint(2, 1000, (1, 24), generator=torch.Generator().manual_seed(0))
    plan = plan_references(tiny_random, [Request(ids, 3), Request(ids, 5, ids[:, :5], capture_layers=False)],
                           "stream", use_cache=False, log=lambda msg: None)
    rates = plan.rates.as_dict()
    assert set(rates) >= {"layer_build", "expert_fetch", "expert_token", "attention_token", "head_token", "load"}
    assert all(math.isfinite(v) and v >= 0 for v in rates.values())
    assert plan.rates.layer_build > 0 and plan.rates.expert_fetch > 0
    assert plan.source == "resident" and len(plan.passes) == 4  # one pass, then 3 greedy steps
    assert [c.tokens for c in plan.passes[0].chunks] == [24, 29] and plan.passes[3].chunks[0].seen == 26
    assert plan.estimated_seconds > 0
    import psutil

    rss = psutil.Process().memory_info().rss
    assert rss < plan.estimated_peak_bytes < rss + 2 * GIB
    lines = plan.describe()
    assert lines[0].startswith("reference (stream): layer-streamed, layers kept resident for greedy decode")
    assert "input: batch 1, prompt 24 + 3 greedy steps" in lines[1]
    assert "prompt 24 + 5 forced tokens (one pass)" in lines[2]
    assert any(line.strip().startswith("estimate:") and "peak memory" in line for line in lines)


def test_captures_and_pass_bytes_grow_with_the_work():
    config = _published("20b")
    small, large = (costs.PassShape("p", (costs.ChunkShape(1, n, 0),)) for n in (128, 1056))
    assert costs.pass_bytes(config, large) > costs.pass_bytes(config, small) > 0
    logits_only = costs.captured_bytes(config, 1, 1056, capture_layers=False)
    assert logits_only == 4 * 1056 * (201088 + 2880)
    assert costs.captured_bytes(config, 1, 1056, capture_layers=True) > logits_only
