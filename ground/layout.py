"""The tensors a GPT-OSS checkpoint must hold, with the shapes its config.json implies (the published
layout: bfloat16 everywhere but the experts, which are MXFP4 blocks/scales or plain [E, in, out]).

Checked against the safetensors headers alone (no tensor data is read), so a config that the weights
do not match is one clear line before any work, not a shape error deep inside a model."""

from __future__ import annotations

from ground.config import ModelConfig
from ground.errors import UserError


def expected_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    h, q, kv = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    shapes = {"model.embed_tokens.weight": (c.vocab_size, h), "model.norm.weight": (h,),
              "lm_head.weight": (c.vocab_size, h)}
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}"
        shapes.update({
            f"{p}.input_layernorm.weight": (h,), f"{p}.post_attention_layernorm.weight": (h,),
            f"{p}.self_attn.q_proj.weight": (q, h), f"{p}.self_attn.k_proj.weight": (kv, h),
            f"{p}.self_attn.v_proj.weight": (kv, h), f"{p}.self_attn.o_proj.weight": (h, q),
            f"{p}.self_attn.q_proj.bias": (q,), f"{p}.self_attn.k_proj.bias": (kv,),
            f"{p}.self_attn.v_proj.bias": (kv,), f"{p}.self_attn.o_proj.bias": (h,),
            f"{p}.self_attn.sinks": (c.num_attention_heads,),
            f"{p}.mlp.router.weight": (c.num_local_experts, h), f"{p}.mlp.router.bias": (c.num_local_experts,),
            f"{p}.mlp.experts.gate_up_proj_bias": (c.num_local_experts, 2 * c.intermediate_size),
            f"{p}.mlp.experts.down_proj_bias": (c.num_local_experts, h),
        })
    return shapes


def expert_shapes(c: ModelConfig, layer: int, mxfp4: bool) -> dict[str, tuple[int, ...]]:
    e, h, i = c.num_local_experts, c.hidden_size, c.intermediate_size
    p = f"model.layers.{layer}.mlp.experts"
    if mxfp4:  # on disk [E, out, in/32, 16] blocks and [E, out, in/32] scales
        return {f"{p}.gate_up_proj_blocks": (e, 2 * i, h // 32, 16), f"{p}.gate_up_proj_scales": (e, 2 * i, h // 32),
                f"{p}.down_proj_blocks": (e, h, i // 32, 16), f"{p}.down_proj_scales": (e, h, i // 32)}
    return {f"{p}.gate_up_proj": (e, h, 2 * i), f"{p}.down_proj": (e, i, h)}


def check(config: ModelConfig, shape_of, names: set[str], where: str) -> None:
    """``shape_of(name)`` reads one tensor's shape from its header; raises UserError on the first
    missing tensor or shape that config.json does not imply."""
    wanted = expected_shapes(config)
    for layer in range(config.num_hidden_layers):
        mxfp4 = f"model.layers.{layer}.mlp.experts.gate_up_proj_blocks" in names
        wanted.update(expert_shapes(config, layer, mxfp4))
    for name, shape in wanted.items():
        if name not in names:
            raise UserError(f"{where}: tensor {name!r} is missing; config.json has {config.num_hidden_layers} layers")
        actual = tuple(shape_of(name))
        if actual != shape:
            raise UserError(f"{where}: {name} has shape {list(actual)} but config.json implies {list(shape)}; "
                            "the config does not match the weights")
