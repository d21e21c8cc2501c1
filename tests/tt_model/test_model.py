"""Whole tiny model on the emulator: agreement with the HF reference, mesh invariance, padding, generation."""
import pytest
import torch

from ground.errors import UserError
from bench.metrics import pcc, topk_agreement
from tests.tt_model.conftest import load


@pytest.fixture(scope="module")
def model_1x1(tiny_model_dir):
    return load(tiny_model_dir, "1x1")


def _tokens_128(model_dir, trained: bool) -> torch.Tensor:
    """Held-out corpus text for the trained model (what it knows how to continue); random ids otherwise."""
    if trained:
        from bench.inputs import corpus_tokens
        from ground.checkpoint import Checkpoint

        return torch.tensor([corpus_tokens(Checkpoint.open(model_dir).tokenizer, "heldout", 128)[:128]])
    return torch.randint(0, 1024, (1, 128), generator=torch.Generator().manual_seed(3))


def _teacher_forced_agreement(model_dir, precision, trained=False):
    from ground.checkpoint import Checkpoint
    from reference.runner import run_reference

    tokens = _tokens_128(model_dir, trained)
    prompt, forced = tokens[:, :64], tokens[:, 64:]
    ref = run_reference(Checkpoint.open(model_dir), prompt, decode_steps=64, decode_tokens=forced, use_cache=False, log=lambda m: None)
    ref_logits = torch.cat([ref.phases["prefill"].model["logits"]] +
                           [ref.phases[f"decode_{t}"].model["logits"] for t in range(64)], dim=1)
    prefill, decode = load(model_dir, "1x1", precision).teacher_forced(prompt, forced)
    dev_logits = torch.cat([prefill, decode], dim=1)
    top1, top5 = topk_agreement(ref_logits, dev_logits, 1), topk_agreement(ref_logits, dev_logits, 5)
    print(f"\n{model_dir.name} {precision or 'default'}: 64 prefill + 64 forced decode: top1={top1:.4f} "
          f"top5={top5:.4f} logits pcc={pcc(ref_logits, dev_logits).value:.5f}")
    return top1, top5


def test_teacher_forced_agreement(tiny_model_dir, tiny_random_dir):
    top1, top5 = _teacher_forced_agreement(tiny_model_dir, None, trained=tiny_model_dir != tiny_random_dir)
    assert top5 >= 0.99
    if tiny_model_dir != tiny_random_dir:
        assert top1 >= 0.90  # the trained tiny: the bar at default (bfloat4_b experts) precision
    else:
        # Random weights give near-flat logits (median top-1/top-2 margin ~0.06 against logit std ~0.33), so
        # bfloat4_b expert rounding flips ~15% of the top-1 choices; the bar is held with bfloat8_b experts.
        assert top1 >= 0.80
        assert _teacher_forced_agreement(tiny_model_dir, "bf8_experts")[0] >= 0.90


def test_mesh_invariance(tiny_model_dir, model_1x1):
    prompt = torch.randint(0, 1024, (2, 24), generator=torch.Generator().manual_seed(4))
    forced = torch.tensor([[3, 9], [11, 40]])
    logits = {}
    for mesh in ("1x1", "1x8", "4x8"):
        model = model_1x1 if mesh == "1x1" else load(tiny_model_dir, mesh)
        prefill, decode = model.teacher_forced(prompt, forced)
        logits[mesh] = torch.cat([prefill, decode], dim=1)
    values = {m: pcc(logits["1x1"], logits[m]).value for m in ("1x8", "4x8")}
    print(f"\nmesh invariance vs 1x1: {values}")
    assert all(v >= 0.999 for v in values.values())


def test_left_padded_batch_matches_single_prompts(model_1x1):
    g = torch.Generator().manual_seed(5)
    short, long = torch.randint(0, 1024, (1, 10), generator=g), torch.randint(0, 1024, (1, 20), generator=g)
    batch = torch.cat([torch.cat([torch.zeros(1, 10, dtype=torch.long), short], 1), long])
    mask = torch.ones(2, 20, dtype=torch.long)
    mask[0, :10] = 0
    prefill, decode = model_1x1.teacher_forced(batch, torch.tensor([[7, 8], [7, 8]]), attention_mask=mask)
    alone_p, alone_d = model_1x1.teacher_forced(short, torch.tensor([[7, 8]]))
    long_p, long_d = model_1x1.teacher_forced(long, torch.tensor([[7, 8]]))
    short_value = pcc(torch.cat([alone_p, alone_d], 1), torch.cat([prefill[:1, 10:], decode[:1]], 1)).value
    long_value = pcc(torch.cat([long_p, long_d], 1), torch.cat([prefill[1:], decode[1:]], 1)).value
    print(f"\npadded batch vs alone: short={short_value:.5f} long={long_value:.5f}")
    assert short_value >= 0.999 and long_value >= 0.999


def test_generate_greedy_and_sampling(model_1x1):
    prompt = torch.randint(0, 1024, (2, 8), generator=torch.Generator().manual_seed(6))
    greedy = model_1x1.generate(prompt, 4)
    assert greedy.shape == (2, 4)
    # greedy tokens are the argmax of the logits when those same tokens are fed back
    prefill, decode = model_1x1.teacher_forced(prompt, greedy[:, :3])
    expected = torch.cat([prefill[:, -1:], decode], 1).argmax(-1)
    assert torch.equal(greedy, expected)
    # a vanishing top_p keeps only the top token: sampling collapses to greedy
    assert torch.equal(model_1x1.generate(prompt, 4, temperature=1.0, top_p=1e-6), greedy)
    a = model_1x1.generate(prompt, 4, temperature=5.0, seed=1)
    b = model_1x1.generate(prompt, 4, temperature=5.0, seed=1)
    assert torch.equal(a, b)


def test_backend_info(model_1x1):
    info = model_1x1.backend_info
    assert info["backend"] == "emulated" and info["mesh"] == "1x1"
    assert info["precision"]["expert_weights"] == "bfloat4_b"


def test_bad_inputs(model_1x1, tiny_model_dir, tmp_path):
    with pytest.raises(UserError, match=r"token_ids must be \[batch, seq\]"):
        model_1x1.prefill(torch.tensor([1, 2, 3]))
    with pytest.raises(UserError, match="attention_mask shape"):
        model_1x1.prefill(torch.tensor([[1, 2, 3]]), torch.ones(1, 2))
    model_1x1.prefill(torch.tensor([[1, 2, 3]]), max_new_tokens=1)
    with pytest.raises(UserError, match="expected one per user"):
        model_1x1.decode_step(torch.tensor([1, 2]))
    with pytest.raises(UserError, match="mesh 3x3: num_attention_heads=16 does not split over 3 devices"):
        load(tiny_model_dir, "3x3")
    with pytest.raises(UserError, match="is not a directory"):
        load(tmp_path / "missing")


def test_chunked_prefill_equals_one_pass(model_1x1, monkeypatch):
    """Experts and prefill logits in token chunks (what keeps a 120B batch-32 prefill inside a chip's DRAM) give
    the very logits of one pass: rows are independent."""
    import tt_model.experts
    import tt_model.model

    prompt = torch.randint(0, 1024, (2, 40), generator=torch.Generator().manual_seed(6))  # 80 tokens
    whole = model_1x1.prefill(prompt, max_new_tokens=4)
    monkeypatch.setattr(tt_model.experts, "TOKEN_CHUNK", 32)  # 80 tokens: passes of 32, 32, 16
    monkeypatch.setattr(tt_model.model, "LOGIT_CHUNK", 32)
    chunked = model_1x1.prefill(prompt, max_new_tokens=4)
    assert chunked.shape == whole.shape == (2, 40, whole.shape[-1])
    assert torch.equal(chunked, whole)
