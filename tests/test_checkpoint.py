import json

import pytest
import torch
from safetensors import safe_open

from bench.cli import main
from reference.checkpoint_writer import make_checkpoint
from ground.mxfp4 import dequantize_expert_weight

# One decoder layer of the published openai/gpt-oss-20b checkpoint (model.safetensors.index.json
# and the safetensors headers): name -> (shape, dtype).
PUBLISHED_20B_LAYER = {
    "input_layernorm.weight": ((2880,), torch.bfloat16),
    "post_attention_layernorm.weight": ((2880,), torch.bfloat16),
    "self_attn.q_proj.weight": ((4096, 2880), torch.bfloat16),
    "self_attn.q_proj.bias": ((4096,), torch.bfloat16),
    "self_attn.k_proj.weight": ((512, 2880), torch.bfloat16),
    "self_attn.k_proj.bias": ((512,), torch.bfloat16),
    "self_attn.v_proj.weight": ((512, 2880), torch.bfloat16),
    "self_attn.v_proj.bias": ((512,), torch.bfloat16),
    "self_attn.o_proj.weight": ((2880, 4096), torch.bfloat16),
    "self_attn.o_proj.bias": ((2880,), torch.bfloat16),
    "self_attn.sinks": ((64,), torch.bfloat16),
    "mlp.router.weight": ((32, 2880), torch.bfloat16),
    "mlp.router.bias": ((32,), torch.bfloat16),
    "mlp.experts.gate_up_proj_blocks": ((32, 5760, 90, 16), torch.uint8),
    "mlp.experts.gate_up_proj_scales": ((32, 5760, 90), torch.uint8),
    "mlp.experts.gate_up_proj_bias": ((32, 5760), torch.bfloat16),
    "mlp.experts.down_proj_blocks": ((32, 2880, 90, 16), torch.uint8),
    "mlp.experts.down_proj_scales": ((32, 2880, 90), torch.uint8),
    "mlp.experts.down_proj_bias": ((32, 2880), torch.bfloat16),
}
PUBLISHED_20B_OUTER = {
    "model.embed_tokens.weight": ((201088, 2880), torch.bfloat16),
    "model.norm.weight": ((2880,), torch.bfloat16),
    "lm_head.weight": ((201088, 2880), torch.bfloat16),
}


def _scaled_layout(hidden, heads, kv_heads, head_dim, inter, experts, vocab):
    """The published layout with the tiny preset's sizes substituted, names unchanged."""
    sub = {2880: hidden, 4096: heads * head_dim, 512: kv_heads * head_dim, 64: heads, 32: experts,
           5760: 2 * inter, 90: hidden // 32, 201088: vocab, 16: 16}
    layout = {}
    for name, (shape, dtype) in PUBLISHED_20B_LAYER.items():
        dims = [sub[d] for d in shape]
        if name == "mlp.experts.down_proj_blocks" or name == "mlp.experts.down_proj_scales":
            dims[2] = inter // 32
        layout[name] = (tuple(dims), dtype)
    return layout


def _read_all(directory):
    index = json.loads((directory / "model.safetensors.index.json").read_text())
    tensors = {}
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(str(directory / shard), framework="pt") as f:
            tensors.update({k: f.get_tensor(k) for k in f.keys()})
    return index, tensors


def test_tiny_checkpoint_has_published_layout(tiny_random_dir):
    config = json.loads((tiny_random_dir / "config.json").read_text())
    assert config["model_type"] == "gpt_oss"
    assert config["quantization_config"]["quant_method"] == "mxfp4"
    assert config["rope_scaling"] == {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0,
                                      "original_max_position_embeddings": 4096, "rope_type": "yarn", "truncate": False}
    assert (config["rope_theta"], config["swiglu_limit"], config["num_experts_per_tok"]) == (150000, 7.0, 4)
    assert config["layer_types"] == ["sliding_attention", "full_attention"] * 2
    index, tensors = _read_all(tiny_random_dir)
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and shards[0] == f"model-00000-of-{len(shards) - 1:05d}.safetensors"
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in tensors.values())
    layout = _scaled_layout(256, 16, 8, 32, 256, 8, 1024)
    for i in range(4):
        for name, (shape, dtype) in layout.items():
            tensor = tensors.pop(f"model.layers.{i}.{name}")
            assert (tuple(tensor.shape), tensor.dtype) == (shape, dtype), name
    assert {k: (tuple(v.shape), v.dtype) for k, v in tensors.items()} == {
        "model.embed_tokens.weight": ((1024, 256), torch.bfloat16),
        "model.norm.weight": ((256,), torch.bfloat16),
        "lm_head.weight": ((1024, 256), torch.bfloat16),
    }


def test_transformers_loads_it_with_no_missing_or_unexpected_keys(tiny_random_dir):
    from transformers import AutoTokenizer, GptOssForCausalLM, Mxfp4Config

    model, info = GptOssForCausalLM.from_pretrained(
        tiny_random_dir, quantization_config=Mxfp4Config(dequantize=True), dtype=torch.float32, output_loading_info=True
    )
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set() and info["mismatched_keys"] == set()
    _, tensors = _read_all(tiny_random_dir)
    experts = model.model.layers[2].mlp.experts
    for name in ("gate_up_proj", "down_proj"):
        on_disk = dequantize_expert_weight(tensors[f"model.layers.2.mlp.experts.{name}_blocks"],
                                           tensors[f"model.layers.2.mlp.experts.{name}_scales"])
        assert torch.equal(getattr(experts, name).data, on_disk)
    torch.testing.assert_close(model.model.layers[1].self_attn.sinks.data, tensors["model.layers.1.self_attn.sinks"].float())
    tokenizer = AutoTokenizer.from_pretrained(tiny_random_dir)
    ids = tokenizer("What is 12 + 7? 19").input_ids
    assert tokenizer.decode(ids) == "What is 12 + 7? 19"
    logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), 1024) and torch.isfinite(logits).all()


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = make_checkpoint("tiny", tmp_path / "a", random=True, seed=3)
    b = make_checkpoint("tiny", tmp_path / "b", random=True, seed=3)
    c = make_checkpoint("tiny", tmp_path / "c", random=True, seed=4)
    _, ta = _read_all(a)
    _, tb = _read_all(b)
    _, tc = _read_all(c)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    assert not torch.equal(ta["lm_head.weight"], tc["lm_head.weight"])


def test_cli_writes_and_reports(tmp_path, capsys):
    assert main(["make-model", "--preset", "tiny", "--random", "--layers", "2", "--out", str(tmp_path / "m")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "config.json").read_text())["num_hidden_layers"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "7b"], "unknown preset '7b'; expected one of: tiny, 20b, 120b"),
        (["--preset", "20b", "--layers", "0"], "--layers 0 is out of range; preset '20b' has 1..24 layers"),
        (["--preset", "tiny", "--layers", "5", "--random"], "--layers 5 is out of range"),
        (["--preset", "20b", "--retrain"], "--retrain applies to --preset tiny alone (got --preset 20b)"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, argv, message):
    assert main(["make-model", *argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_refuses_to_overwrite_unrelated_directory(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["make-model", "--preset", "tiny", "--random", "--out", str(tmp_path)]) == 2
    assert "not a GPT-OSS checkpoint" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_full_width_20b_layer_round_trip(tmp_path):
    """One full-width 20B layer: published names, shapes and dtypes, loadable by transformers."""
    from transformers import GptOssForCausalLM, Mxfp4Config

    out = make_checkpoint("20b", tmp_path / "20b", layers=1)
    _, tensors = _read_all(out)
    expected = {f"model.layers.0.{k}": v for k, v in PUBLISHED_20B_LAYER.items()} | PUBLISHED_20B_OUTER
    assert {k: (tuple(v.shape), v.dtype) for k, v in tensors.items()} == expected
    del tensors
    _, info = GptOssForCausalLM.from_pretrained(out, quantization_config=Mxfp4Config(dequantize=True),
                                                dtype=torch.float32, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
