"""Host hot paths of the perf and accuracy runs, timed with pytest-benchmark so host-side slowdowns show:

    HF_HUB_OFFLINE=1 python -m pytest -m slow tests/benchmarks --benchmark-save=base
    HF_HUB_OFFLINE=1 python -m pytest -m slow tests/benchmarks --benchmark-compare --benchmark-compare-fail=mean:20%

Plus the shape-only budgets of issue 12: GPT-OSS-120B on 4x8 and 20B on 1x8, batch 32, prefill 128 + 4 decode
steps, each in under 60 s with peak RSS under 3 GiB (measured in a subprocess, so the RSS is that run's alone).
"""
import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
import torch

BUDGET_S, BUDGET_GIB = 60.0, 3.0

_SHAPE_ONLY_RUN = textwrap.dedent("""
    import json, resource, sys, time, torch
    import tt_model
    from reference.presets import PRESETS, published_config
    from tt_model.shape_only import ShapeOnlyCheckpoint
    size, mesh, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.perf_counter()
    model = tt_model.load(ShapeOnlyCheckpoint(published_config(PRESETS[size]), size), mesh=mesh, backend="emulated",
                          trace=True)
    model.prefill(torch.zeros(batch, 128, dtype=torch.long), max_new_tokens=4)
    t0 = model.device_clock_ns()
    for _ in range(4):
        model.decode_step(torch.zeros(batch, dtype=torch.long))
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "modelled_step_ms": (model.device_clock_ns() - t0) / 4 / 1e6}))
""")


@pytest.mark.parametrize("size, mesh", [("120b", "4x8"), ("20b", "1x8")])
def test_shape_only_full_size_within_budget(benchmark, size, mesh):
    def run():
        done = subprocess.run([sys.executable, "-c", _SHAPE_ONLY_RUN, size, mesh, "32"], capture_output=True,
                              text=True, check=True, timeout=600)
        return json.loads(done.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    print(f"\n{size} {mesh} batch 32, prefill 128 + 4 decode: {result['seconds']:.1f} s, peak RSS "
          f"{result['peak_gib']:.2f} GiB, modelled step {result['modelled_step_ms']:.1f} ms")
    assert result["seconds"] < BUDGET_S and result["peak_gib"] < BUDGET_GIB


def test_cost_model_over_one_120b_decode_step(benchmark):
    """Pricing every op of one full-size 120B 4x8 decode step with a fresh model (no price cache)."""
    import tt_model
    from reference.presets import PRESETS, published_config
    from tt_model.costmodel import CostModel
    from tt_model.emulator import recording
    from tt_model.shape_only import ShapeOnlyCheckpoint

    model = tt_model.load(ShapeOnlyCheckpoint(published_config(PRESETS["120b"]), "120b"), mesh="4x8",
                          backend="emulated")
    try:
        model.prefill(torch.zeros(32, 128, dtype=torch.long), max_new_tokens=2)
        with recording() as log:
            model.decode_step(torch.zeros(32, dtype=torch.long))
    finally:
        model.close()
    records = [replace(r) for r in log.records if not r.host]
    assert len(records) > 2000

    def price_all():
        fresh = CostModel.load()
        return sum(fresh.price(r).kernel_ns for r in records)

    total = benchmark(price_all)
    assert total == pytest.approx(sum(r.kernel_ns for r in records))


def test_pcc_on_10m_elements(benchmark):
    from bench.metrics import pcc

    g = torch.Generator().manual_seed(0)
    expected = torch.randn(10_000_000, generator=g)
    actual = expected + 0.01 * torch.randn(10_000_000, generator=g)
    result = benchmark(pcc, expected, actual)
    assert 0.9999 < result.value < 1.0


def test_one_reference_layer_at_20b_width(benchmark):
    """The HF float32 reference's decoder layer at GPT-OSS-20B width (random weights), 32 tokens."""
    from transformers.models.gpt_oss.modeling_gpt_oss import GptOssDecoderLayer, GptOssRotaryEmbedding

    from reference.presets import PRESETS, published_config
    from ground.config import ModelConfig

    config = ModelConfig.from_dict(published_config(PRESETS["20b"], layers=1)).hf_config()
    torch.manual_seed(0)
    layer = GptOssDecoderLayer(config, 0).eval()
    for p in layer.parameters():
        torch.nn.init.normal_(p, std=0.02)
    hidden = torch.randn(1, 32, config.hidden_size)
    position_ids = torch.arange(32)[None]
    cos_sin = GptOssRotaryEmbedding(config)(hidden, position_ids)
    mask = torch.full((32, 32), float("-inf")).triu(1)[None, None]

    def forward():
        with torch.no_grad():
            out = layer(hidden, attention_mask=mask, position_ids=position_ids, position_embeddings=cos_sin)
        return out[0] if isinstance(out, tuple) else out

    out = benchmark.pedantic(forward, rounds=3, warmup_rounds=1)
    assert out.shape == (1, 32, config.hidden_size) and torch.isfinite(out).all()
