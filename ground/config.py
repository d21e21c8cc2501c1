"""Model dimensions read from the checkpoint's config.json (the same file the HF reference reads)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError


@dataclass(frozen=True)
class ModelConfig:
    hidden_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    num_local_experts: int
    num_experts_per_tok: int
    num_hidden_layers: int
    layer_types: tuple[str, ...]
    sliding_window: int
    vocab_size: int
    rms_norm_eps: float
    swiglu_limit: float
    max_position_embeddings: int
    raw: dict = field(repr=False, compare=False, hash=False, default_factory=dict)

    def is_sliding(self, layer: int) -> bool:
        return self.layer_types[layer] == "sliding_attention"

    def hf_config(self):
        """The transformers config, used only for host-side tables (YaRN frequencies)."""
        from transformers import GptOssConfig

        return GptOssConfig(**{k: v for k, v in self.raw.items() if k != "quantization_config"})


def load_config(model_dir: str | Path) -> ModelConfig:
    path = Path(model_dir) / "config.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"model directory {str(model_dir)!r} has no config.json; expected a GPT-OSS checkpoint") from None
    if raw.get("model_type") != "gpt_oss":
        raise UserError(f"{str(path)!r} holds model_type {raw.get('model_type')!r}; expected 'gpt_oss'")
    layers = raw["num_hidden_layers"]
    layer_types = raw.get("layer_types") or [
        "sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)]
    return ModelConfig(
        hidden_size=raw["hidden_size"], num_attention_heads=raw["num_attention_heads"],
        num_key_value_heads=raw["num_key_value_heads"],
        head_dim=raw.get("head_dim") or raw["hidden_size"] // raw["num_attention_heads"],
        intermediate_size=raw["intermediate_size"], num_local_experts=raw["num_local_experts"],
        num_experts_per_tok=raw["num_experts_per_tok"], num_hidden_layers=layers,
        layer_types=tuple(layer_types[:layers]), sliding_window=raw["sliding_window"],
        vocab_size=raw["vocab_size"], rms_norm_eps=raw.get("rms_norm_eps", 1e-5),
        swiglu_limit=raw.get("swiglu_limit", 7.0),
        max_position_embeddings=raw.get("max_position_embeddings", 131072), raw=raw)
