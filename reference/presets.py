"""GPT-OSS model shapes: the two published models and the bundled tiny one.

``published_config`` renders a preset as the ``config.json`` the published checkpoints ship
(key for key), so the checkpoints written here load through the same code as the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from ground.errors import UserError


@dataclass(frozen=True)
class Preset:
    name: str
    num_hidden_layers: int
    num_local_experts: int
    hidden_size: int = 2880
    intermediate_size: int = 2880
    num_attention_heads: int = 64
    num_key_value_heads: int = 8
    head_dim: int = 64
    num_experts_per_tok: int = 4
    vocab_size: int = 201088
    sliding_window: int = 128
    max_position_embeddings: int = 131072
    eos_token_id: int = 200002
    pad_token_id: int = 199999

    def layer_types(self, layers: int) -> list[str]:
        # GPT-OSS alternates banded (sliding) and dense attention, starting with sliding.
        return ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)]


# Tiny: keeps GPT-OSS's structure and shards like the real model on a 4x8 mesh:
# 16 q / 8 kv heads divide by 8 mesh columns, 8 experts by 4 mesh rows, and hidden 256 /
# intermediate 256 give 32-wide (one tile) per-device slices.
PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        num_hidden_layers=4,
        num_local_experts=8,
        hidden_size=256,
        intermediate_size=256,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=32,
        vocab_size=1024,
        sliding_window=64,
        max_position_embeddings=4096,
        eos_token_id=0,
        pad_token_id=1,
    ),
    "20b": Preset(name="20b", num_hidden_layers=24, num_local_experts=32),
    "120b": Preset(name="120b", num_hidden_layers=36, num_local_experts=128),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; expected one of: {', '.join(PRESETS)}") from None


def published_config(preset: Preset, layers: int | None = None) -> dict:
    """config.json exactly as the published GPT-OSS checkpoints have it."""
    layers = preset.num_hidden_layers if layers is None else layers
    if not 1 <= layers <= preset.num_hidden_layers:
        raise UserError(f"--layers {layers} is out of range; preset {preset.name!r} has 1..{preset.num_hidden_layers} layers")
    return {
        "architectures": ["GptOssForCausalLM"],
        "attention_bias": True,
        "attention_dropout": 0.0,
        "eos_token_id": preset.eos_token_id,
        "experts_per_token": preset.num_experts_per_tok,
        "head_dim": preset.head_dim,
        "hidden_act": "silu",
        "hidden_size": preset.hidden_size,
        "initial_context_length": 4096,
        "initializer_range": 0.02,
        "intermediate_size": preset.intermediate_size,
        "layer_types": preset.layer_types(layers),
        "max_position_embeddings": preset.max_position_embeddings,
        "model_type": "gpt_oss",
        "num_attention_heads": preset.num_attention_heads,
        "num_experts_per_tok": preset.num_experts_per_tok,
        "num_hidden_layers": layers,
        "num_key_value_heads": preset.num_key_value_heads,
        "num_local_experts": preset.num_local_experts,
        "output_router_logits": False,
        "pad_token_id": preset.pad_token_id,
        "quantization_config": {
            "modules_to_not_convert": [
                "model.layers.*.self_attn",
                "model.layers.*.mlp.router",
                "model.embed_tokens",
                "lm_head",
            ],
            "quant_method": "mxfp4",
        },
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "factor": 32.0,
            "original_max_position_embeddings": 4096,
            "rope_type": "yarn",
            "truncate": False,
        },
        "rope_theta": 150000,
        "router_aux_loss_coef": 0.9,
        "sliding_window": preset.sliding_window,
        "swiglu_limit": 7.0,
        "tie_word_embeddings": False,
        "transformers_version": "4.55.0.dev0",
        "use_cache": True,
        "vocab_size": preset.vocab_size,
    }


def gpt_oss_config(preset: str, layers: int | None = None):
    """A transformers GptOssConfig for a preset (no quantization: for in-memory models)."""
    from transformers import GptOssConfig

    config = published_config(get_preset(preset), layers)
    config.pop("quantization_config")
    return GptOssConfig(**config)
