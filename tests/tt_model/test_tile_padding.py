"""Per-device shards that are not whole tiles are zero-padded as tt-metal pads them (expert
intermediate 2880/8 = 360 -> 384, vocab 201088/8 = 25136 -> 25152), and padding changes no result.

Checked on a tiny-shaped checkpoint whose splits are not tile multiples on 1x8: intermediate
320/8 = 40 -> 64 per device, vocab 1000/8 = 125 -> 128 per device."""
import dataclasses

import pytest
import torch

import tt_model
import tt_model.weights as weights
from ground.checkpoint import Checkpoint
from reference.checkpoint_writer import _RandomWeights, write_directory
from reference.presets import PRESETS, published_config
from reference.tokenizer_tiny import train_bpe_tokenizer
from tt_model.weights import pad_shards, tile_padded, unpad_shards

ODD = dataclasses.replace(PRESETS["tiny"], name="odd", intermediate_size=320, vocab_size=1000, num_hidden_layers=2)


@pytest.fixture(scope="module")
def odd_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("odd") / "ckpt"
    write_directory(out, published_config(ODD), _RandomWeights(ODD, seed=3).groups(2),
                    train_bpe_tokenizer(["1 + 2 = 3"] * 10, vocab_size=300))
    return Checkpoint.open(out)


def test_padded_widths_are_the_published_ones():
    assert tile_padded(2880, 8) == 384 and tile_padded(201088, 8) == 25152 and tile_padded(2880, 1) == 2880
    x = torch.randn(3, 2880)
    padded = pad_shards(x, -1, 8)
    assert padded.shape == (3, 8 * 384)
    assert torch.equal(padded.reshape(3, 8, 384)[..., 360:], torch.zeros(3, 8, 24))
    assert torch.equal(unpad_shards(padded, 2880, 8), x)
    assert pad_shards(x, -1, 9) is x  # 2880 / 9 = 320: already whole tiles, nothing to pad
    assert pad_shards(x.T.contiguous(), 0, 8).shape == (3072, 3)


def _logits(checkpoint, prompt):
    model = tt_model.load(checkpoint, mesh="1x8", backend="emulated")
    try:
        return model.model, model.teacher_forced(prompt, torch.tensor([[5, 6]]))
    finally:
        model.close()


def test_padding_leaves_results_unchanged(odd_checkpoint, monkeypatch):
    prompt = torch.randint(0, 1000, (1, 20), generator=torch.Generator().manual_seed(0))
    model, (prefill, decode) = _logits(odd_checkpoint, prompt)
    experts = model.layers[0].mlp.experts
    assert tuple(experts.w_gate._shards[0].shape) == (1, 8, 256, 64)  # 40 real + 24 zero columns per device
    assert tuple(experts.w_down._shards[0].shape) == (1, 8, 64, 256)
    assert tuple(model.lm_head._shards[0].shape) == (256, 128)
    assert prefill.shape == (1, 20, 1000) and decode.shape == (1, 2, 1000)

    monkeypatch.setattr(weights, "TILE", 1)  # the same model with shards of 40 and 125: no padding
    unpadded_model, (prefill_u, decode_u) = _logits(odd_checkpoint, prompt)
    assert tuple(unpadded_model.layers[0].mlp.experts.w_gate._shards[0].shape) == (1, 8, 256, 40)
    difference = max(float((prefill - prefill_u).abs().max()), float((decode - decode_u).abs().max()))
    print(f"\npadded vs unpadded logits, max abs difference: {difference:.3e}")
    assert difference == 0.0
