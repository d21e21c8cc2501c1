"""Model dimensions from a checkpoint's config.json, typed. Read once by ``ground.checkpoint``;
the HF reference and the TT-NN model both take their shapes from here."""
from __future__ import annotations

from dataclasses import dataclass, field

from ground.errors import UserError

REQUIRED = ("hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size", "num_local_experts",
            "num_experts_per_tok", "num_hidden_layers", "sliding_window", "vocab_size")


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

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config.json") -> "ModelConfig":
        missing = [k for k in REQUIRED if not isinstance(raw.get(k), int)]
        if missing:
            raise UserError(f"{source}: missing or non-integer {', '.join(missing)}; not a GPT-OSS config")
        layers = raw["num_hidden_layers"]
        layer_types = raw.get("layer_types") or [
            "sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)]
        return cls(
            hidden_size=raw["hidden_size"], num_attention_heads=raw["num_attention_heads"],
            num_key_value_heads=raw["num_key_value_heads"],
            head_dim=raw.get("head_dim") or raw["hidden_size"] // raw["num_attention_heads"],
            intermediate_size=raw["intermediate_size"], num_local_experts=raw["num_local_experts"],
            num_experts_per_tok=raw["num_experts_per_tok"], num_hidden_layers=layers,
            layer_types=tuple(layer_types[:layers]), sliding_window=raw["sliding_window"],
            vocab_size=raw["vocab_size"], rms_norm_eps=raw.get("rms_norm_eps", 1e-5),
            swiglu_limit=raw.get("swiglu_limit", 7.0),
            max_position_embeddings=raw.get("max_position_embeddings", 131072), raw=raw)

    def is_sliding(self, layer: int) -> bool:
        return self.layer_types[layer] == "sliding_attention"

    def window(self, layer: int) -> int | None:
        """The layer's attention window: sliding_window for banded layers, None for dense ones."""
        return self.sliding_window if self.is_sliding(layer) else None

    @property
    def is_mxfp4(self) -> bool:
        return (self.raw.get("quantization_config") or {}).get("quant_method") == "mxfp4"

    def hf_config(self, quantized: bool = False):
        """transformers' GptOssConfig built from the dict already read (eager attention, as the
        reference runs); with ``quantized`` it keeps quantization_config for from_pretrained."""
        from transformers import GptOssConfig

        raw = self.raw if quantized else {k: v for k, v in self.raw.items() if k != "quantization_config"}
        config = GptOssConfig(**raw)
        config._attn_implementation = "eager"
        return config
