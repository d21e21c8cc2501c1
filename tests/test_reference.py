import json

import pytest
import torch

from bench.cli import main
from ground.captures import LAYER_FIELDS, Captures
from reference.runner import run_reference

B, S, STEPS = 2, 40, 2


@pytest.fixture(scope="module")
def prompt():
    ids = torch.randint(2, 1000, (B, S), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # the second prompt is 5 tokens shorter, left-padded
    return ids, mask


@pytest.fixture(scope="module")
def whole(tiny_random, prompt):
    ids, mask = prompt
    return run_reference(tiny_random, ids, decode_steps=STEPS, attention_mask=mask, use_cache=False)


def test_capture_shapes_and_phases(whole):
    assert list(whole.phases) == ["prefill", "decode_0", "decode_1"]
    assert whole.num_layers == 4
    for phase, s in (("prefill", S), ("decode_0", 1), ("decode_1", 1)):
        layer = whole.phases[phase].layers[3]
        assert set(layer) == set(LAYER_FIELDS)
        for name in ("layer_in", "attn_norm", "attn_out", "resid_attn", "mlp_norm", "moe_out", "layer_out"):
            assert layer[name].shape == (B, s, 256), name
        assert layer["router_logits"].shape == (B, s, 8)
        assert layer["topk_ids"].shape == (B, s, 4) and layer["topk_ids"].dtype == torch.int64
        assert layer["topk_weights"].shape == (B, s, 4)
        assert whole.phases[phase].model["final_norm"].shape == (B, s, 256)
        assert whole.phases[phase].model["logits"].shape == (B, s, 1024)


def test_captures_are_consistent_with_the_model_maths(whole):
    for layer in whole.phases["prefill"].layers:
        top = layer["router_logits"].topk(4, dim=-1)
        assert torch.equal(layer["topk_ids"], top.indices)
        torch.testing.assert_close(layer["topk_weights"], top.values.softmax(-1))
        torch.testing.assert_close(layer["layer_out"], layer["resid_attn"] + layer["moe_out"], rtol=0, atol=1e-6)
    layers = whole.phases["prefill"].layers
    torch.testing.assert_close(layers[1]["layer_in"], layers[0]["layer_out"], rtol=0, atol=0)


def test_logits_match_a_plain_forward(tiny_random, prompt, whole):
    from reference.loader import load_hf_model
    from reference.runner import positions

    ids, mask = prompt
    model = load_hf_model(tiny_random)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions(mask)).logits
    real = mask.bool()
    torch.testing.assert_close(whole.phases["prefill"].model["logits"][real], logits[real], rtol=0, atol=1e-5)
    # Decode step 0 is fed the greedy choice of the prefill's last position.
    assert torch.equal(whole.decode_tokens[:, 0], logits[:, -1].argmax(-1))


def test_streaming_equals_whole_model(tiny_random, prompt, whole):
    ids, mask = prompt
    streamed = run_reference(tiny_random, ids, decode_steps=STEPS, attention_mask=mask, mode="stream", use_cache=False)
    real = mask.bool()
    worst = 0.0
    for phase in whole.phases:
        ref, got = whole.phases[phase], streamed.phases[phase]
        keep = real if phase == "prefill" else torch.ones(B, 1, dtype=torch.bool)
        for i in range(4):
            for name in LAYER_FIELDS:
                worst = max(worst, float((ref.layers[i][name].float() - got.layers[i][name].float())[keep].abs().max()))
        for name in ("final_norm", "logits"):
            worst = max(worst, float((ref.model[name] - got.model[name])[keep].abs().max()))
    print(f"streaming vs whole-model max abs diff: {worst:.3e}")
    assert worst <= 1e-5
    assert torch.equal(streamed.decode_tokens, whole.decode_tokens)


def test_second_run_hits_the_cache(tiny_random, prompt, monkeypatch):
    import reference.runner as runner

    ids, mask = prompt
    messages = []
    first = run_reference(tiny_random, ids[:, :12], decode_steps=1, log=messages.append)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cache hit must not load the model")

    monkeypatch.setattr(runner, "_prepare", must_not_run)
    second = run_reference(tiny_random, ids[:, :12], decode_steps=1, log=messages.append)
    lookups = [m for m in messages if m.startswith("reference cache ")]
    assert lookups[0].startswith("reference cache miss ") and lookups[1].startswith("reference cache hit ")
    assert lookups[0].split()[-1] == lookups[1].split()[-1]
    torch.testing.assert_close(second.phases["decode_0"].model["logits"], first.phases["decode_0"].model["logits"], rtol=0, atol=0)
    # Other tokens are another key.
    with pytest.raises(AssertionError, match="must not load"):
        run_reference(tiny_random, ids[:, :13], decode_steps=1, log=messages.append)


def test_corrupt_cache_file_is_a_miss(tiny_random, prompt):
    from reference import refcache

    ids, _ = prompt
    messages = []
    run_reference(tiny_random, ids[:1, :6], log=messages.append)
    key = [m for m in messages if m.startswith("reference cache miss")][-1].split()[-1]
    path = refcache.cache_dir() / f"{key}.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    again = run_reference(tiny_random, ids[:1, :6], log=messages.append)
    assert f"reference cache miss {key}" in messages[-2:]
    assert again.phases["prefill"].model["logits"].shape == (1, 6, 1024)
    assert Captures.load(path).num_layers == 4


def test_reference_cli(tiny_random_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_MODEL", str(tiny_random_dir))
    assert main(["reference", "--prompt", "What is 12 + 7?", "--decode-steps", "2", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "reference captures: prefill, 4 layers" in out and "greedy continuation" in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["phases"] == ["prefill", "decode_0", "decode_1"] and len(summary["layers"]) == 4
    assert Captures.load(tmp_path / "r" / "captures.safetensors").phases["decode_1"].model["logits"].shape == (1, 1, 1024)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "/nonexistent/dir"], "--model '/nonexistent/dir' is not a directory"),
        (["--prompt", "   "], "--prompt is empty"),
        (["--decode-steps", "-1"], "--decode-steps -1 is negative"),
        (["--mode", "fast"], "invalid choice: 'fast'"),
    ],
)
def test_reference_cli_bad_input(tiny_random_dir, capsys, monkeypatch, argv, message):
    monkeypatch.setenv("HF_MODEL", str(tiny_random_dir))
    assert main(["reference", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_model_dir_without_config(tmp_path, capsys):
    assert main(["reference", "--model", str(tmp_path)]) == 2
    assert "has no config.json" in capsys.readouterr().err


def test_corrupted_bytes_in_a_cached_capture_are_recomputed_not_used(tiny_random, prompt, capsys):
    """A cache file that still parses but whose tensor bytes changed on disk (a flipped bit, a bad sector)
    fails its checksum: it is discarded and the reference computed again, never compared against."""
    from reference import refcache

    ids, _ = prompt
    messages = []
    first = run_reference(tiny_random, ids[:1, :7], log=messages.append)
    key = [m for m in messages if m.startswith("reference cache miss")][-1].split()[-1]
    path = refcache.cache_dir() / f"{key}.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-40:-8] = bytes(b ^ 0x5A for b in raw[-40:-8])  # inside the last tensor's data: the header stays valid
    path.write_bytes(bytes(raw))
    assert Captures.load(path).num_layers == 4  # still a readable safetensors file
    again = run_reference(tiny_random, ids[:1, :7], log=messages.append)
    assert "checksum mismatch" in capsys.readouterr().err and f"reference cache miss {key}" in messages[-2:]
    for phase in first.phases:
        torch.testing.assert_close(again.phases[phase].model["logits"], first.phases[phase].model["logits"],
                                   rtol=0, atol=0)
    assert refcache.load(key) is not None  # the recomputed entry is whole again


def test_cache_key_holds_the_checkpoint_identity_and_the_mode(tiny_random, tiny_random_dir, tmp_path):
    import shutil

    from ground.checkpoint import Checkpoint
    from reference import refcache

    ids = torch.arange(2, 10)[None]
    key = lambda ckpt, mode: refcache.cache_key(ckpt, mode, ids, None, 1, None, torch.float32)
    edited_dir = tmp_path / "edited"
    shutil.copytree(tiny_random_dir, edited_dir)
    shard = sorted(edited_dir.glob("model-*.safetensors"))[-1]
    raw = bytearray(shard.read_bytes())
    raw[-2] ^= 0x01  # one weight bit; same size, same config.json
    shard.write_bytes(bytes(raw))
    assert key(tiny_random, "whole") != key(Checkpoint.open(edited_dir), "whole")
    assert key(tiny_random, "whole") != key(tiny_random, "stream")
    assert key(tiny_random, "whole") == key(Checkpoint.open(tiny_random_dir), "whole")
