"""Forced decode tokens in one pass over the layers equal step-by-step decoding; the engine equals
HF's own forward; several requests share passes; greedy decode of a streamed model keeps its layers
resident instead of reading the checkpoint at every step.

The tiny model's sliding window is 64 tokens: prompts of 64 plus 8 decode steps cross it (the
left-padded second row too, by real tokens as well as by cache index), so masks, positions, sinks
and the KV cache are all in play.
"""

import pytest
import torch

from ground.captures import LAYER_FIELDS, MODEL_FIELDS
from reference.runner import Request, plan_references, positions, run_reference, run_references

B, S, STEPS, LAYERS = 2, 64, 8, 4
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def prompt():
    ids = torch.randint(2, 1000, (B, S), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, :7] = 0
    return ids, mask


def _stepwise(checkpoint, ids, mask, mode):
    """Greedy decoding, one pass per step: the reference's step-by-step path."""
    return run_reference(checkpoint, ids, decode_steps=STEPS, attention_mask=mask, mode=mode, use_cache=False,
                         log=lambda msg: None)


def _forced(checkpoint, ids, mask, tokens, mode):
    return run_reference(checkpoint, ids, decode_steps=STEPS, decode_tokens=tokens, attention_mask=mask, mode=mode,
                         use_cache=False, log=lambda msg: None)


def _diffs(a, b, mask) -> dict[str, float]:
    """Max abs difference per captured field over real (unpadded) positions, every phase and layer."""
    worst: dict[str, float] = {}
    assert list(a.phases) == list(b.phases)
    for name in a.phases:
        keep = mask.bool() if name == "prefill" else torch.ones(mask.shape[0], 1, dtype=torch.bool)
        pa, pb = a.phases[name], b.phases[name]
        pairs = [(f, la[f], lb[f]) for la, lb in zip(pa.layers, pb.layers) for f in LAYER_FIELDS]
        pairs += [(f, pa.model[f], pb.model[f]) for f in MODEL_FIELDS]
        for field, x, y in pairs:
            assert x.shape == y.shape and x.dtype == y.dtype, (name, field)
            worst[field] = max(worst.get(field, 0.0), float((x.float() - y.float())[keep].abs().max()))
    return worst


@pytest.mark.parametrize("mode", ["whole", "stream"])
def test_forced_in_one_pass_equals_step_by_step(tiny_random, prompt, mode):
    ids, mask = prompt
    stepwise = _stepwise(tiny_random, ids, mask, mode)
    forced = _forced(tiny_random, ids, mask, stepwise.decode_tokens, mode)
    diffs = _diffs(stepwise, forced, mask)
    print(f"\n{mode}: forced (one pass) vs step-by-step, max abs diff per field: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    assert set(diffs) == set(LAYER_FIELDS) | set(MODEL_FIELDS)
    assert max(diffs.values()) <= TOLERANCE
    assert torch.equal(forced.decode_tokens, stepwise.decode_tokens)
    assert list(forced.phases) == ["prefill"] + [f"decode_{t}" for t in range(STEPS)]
    assert forced.phases["decode_7"].layers[3]["topk_ids"].shape == (B, 1, 4)
    assert forced.phases["decode_7"].model["logits"].shape == (B, 1, 1024)


def test_engine_equals_hf_forward_across_the_window(tiny_random, prompt):
    """The engine drives HF's modules itself; HF's GptOssForCausalLM forward (loaded by transformers'
    own MXFP4 path) must agree on logits, every layer's output and the router logits."""
    from reference.loader import load_hf_model

    ids, mask = prompt
    full_ids = torch.cat([ids, ids[:, :16]], dim=1)  # 80 tokens: past the 64-token window
    full_mask = torch.cat([mask, torch.ones(B, 16, dtype=mask.dtype)], dim=1)
    ours = run_reference(tiny_random, full_ids, attention_mask=full_mask, use_cache=False, log=lambda msg: None)
    model = load_hf_model(tiny_random)
    with torch.no_grad():
        hf = model(input_ids=full_ids, attention_mask=full_mask, position_ids=positions(full_mask),
                   output_hidden_states=True, output_router_logits=True)
    real = full_mask.bool()
    prefill = ours.phases["prefill"]
    assert float((hf.logits - prefill.model["logits"])[real].abs().max()) <= 1e-5
    for i in range(LAYERS - 1):  # HF's last hidden state is after the final norm
        assert float((hf.hidden_states[i + 1] - prefill.layers[i]["layer_out"])[real].abs().max()) <= 1e-5
    for i in range(LAYERS):
        router = hf.router_logits[i].reshape(B, S + 16, -1)
        assert float((router - prefill.layers[i]["router_logits"])[real].abs().max()) <= 1e-5


def test_requests_share_passes_and_equal_separate_runs(tiny_random, prompt):
    ids, mask = prompt
    forced = torch.randint(2, 1000, (1, 24), generator=torch.Generator().manual_seed(2))
    requests = [Request(ids, 3, None, mask, label="greedy"), Request(ids[:1, :16], 24, forced, capture_layers=False),
                Request(ids[1:, 7:], 0)]
    plan = plan_references(tiny_random, requests, "stream", use_cache=False, log=lambda msg: None, measure=False)
    builds = []
    build = plan._engine.builder.build
    plan._engine.builder.build = lambda index, experts=None: builds.append(index) or build(index, experts)
    from reference.runner import execute

    together = execute(plan, log=lambda msg: None)
    # One pass for every prompt and forced token, then 3 greedy steps; kept (resident) layers are
    # built once, on the first pass.
    assert len(plan.passes) == 4 and builds == [0, 1, 2, 3]
    alone = [run_reference(tiny_random, r.input_ids, r.decode_steps, r.decode_tokens, "stream", r.attention_mask,
                           use_cache=False, log=lambda msg: None, capture_layers=r.capture_layers) for r in requests]
    for got, want, request in zip(together, alone, requests):
        keep = request.attention_mask if request.attention_mask is not None else torch.ones_like(request.input_ids)
        assert max(_diffs(want, got, keep).values()) <= 1e-5
        assert torch.equal(got.decode_tokens, want.decode_tokens)
    no_layers = together[1].phases["decode_5"]
    assert no_layers.layers == [] and no_layers.model["logits"].shape == (1, 1, 1024)


def test_greedy_stream_reads_the_checkpoint_once_when_resident(tiny_random, prompt, monkeypatch):
    """Resident layers: every tensor read once however many steps; without them each step rebuilds
    every layer from the checkpoint (the plan says so)."""
    import reference.runner as runner

    ids, mask = prompt
    reads = []
    reader = tiny_random.tensors
    monkeypatch.setattr(reader, "get", lambda name, get=reader.get: reads.append(name) or get(name))
    plan = plan_references(tiny_random, [Request(ids, 6, None, mask)], "stream", use_cache=False, log=lambda m: None,
                           measure=False)
    assert plan.source == "resident" and not plan.notes
    resident = runner.execute(plan, log=lambda msg: None)[0]
    layer_reads = [n for n in reads if n.startswith("model.layers.")]
    assert len(layer_reads) == len(set(layer_reads)) > 0

    reads.clear()
    monkeypatch.setattr(runner, "RESIDENT_SHARE", 0.0)
    plan = plan_references(tiny_random, [Request(ids, 6, None, mask)], "stream", use_cache=False, log=lambda m: None,
                           measure=False)
    assert plan.source == "stream" and "reads every layer from the checkpoint at every step" in plan.notes[0]
    streamed = runner.execute(plan, log=lambda msg: None)[0]
    assert reads.count("model.layers.0.self_attn.q_proj.weight") == 1 + 6
    assert max(_diffs(resident, streamed, mask).values()) == 0.0


def test_experts_are_dequantized_once_per_layer_visit(tiny_random, prompt):
    ids, mask = prompt
    plan = plan_references(tiny_random, [Request(ids, STEPS, ids[:, :STEPS], mask)], "stream", use_cache=False,
                           log=lambda msg: None, measure=False)
    builder = plan._engine.builder
    from reference.runner import execute

    execute(plan, log=lambda msg: None)
    # 2 x 72 tokens route to every one of the 8 experts in each of the 4 layers: 32 fetches, one pass.
    assert builder.experts_loaded == LAYERS * 8


def test_run_references_reports_progress_in_estimated_seconds(tiny_random, prompt):
    ids, mask = prompt
    ticks = []
    run_references(tiny_random, [Request(ids, 2, None, mask)], "stream", use_cache=False, log=lambda msg: None,
                   progress=ticks.append)
    # 3 passes (prompt, 2 greedy steps), each 4 layers then the lm_head.
    assert [t.what for t in ticks[:5]] == [f"prompts and forced tokens, layer {i}/4" for i in range(1, 5)] + \
        ["prompts and forced tokens, lm_head"]
    assert ticks[-1].what == "greedy step 2/2, lm_head" and len(ticks) == 15
    assert all(t.units >= 0 for t in ticks) and sum(t.units for t in ticks) > 0
