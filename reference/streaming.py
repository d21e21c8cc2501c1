"""Layer-streamed reference: one decoder layer's weights in memory at a time.

The real 20B is 78 GiB in float32 once its experts are dequantized, so HF's whole-model
load cannot run on a 24 GiB host. Here each phase (prefill, each decode step) walks the
layers: read that layer's tensors from the memory-mapped safetensors, build one HF
``GptOssDecoderLayer`` around them, run every token through it, drop it. Experts are
dequantized one at a time and only if the router picked them.
"""

from __future__ import annotations

import torch

from ground.checkpoint import Checkpoint
from ground.tensors import TensorReader

VOCAB_CHUNK = 16384


class LazyExperts(torch.nn.Module):
    """Stands in for ``GptOssExperts`` with the same forward contract and maths, reading and
    dequantizing each expert's MXFP4 weights only when a token is routed to it."""

    def __init__(self, config, weights: TensorReader, prefix: str, dtype: torch.dtype):
        super().__init__()
        self.weights, self.prefix, self.dtype = weights, prefix, dtype
        self.alpha, self.limit = config.swiglu_alpha, config.swiglu_limit
        self.gate_up_proj_bias = weights.get(f"{prefix}.gate_up_proj_bias").to(dtype)
        self.down_proj_bias = weights.get(f"{prefix}.down_proj_bias").to(dtype)
        self.experts_loaded = 0

    def _weight(self, name: str, expert: int) -> torch.Tensor:
        return self.weights.expert_row(self.prefix, name, expert, self.dtype)

    def _apply_gate(self, gate_up: torch.Tensor) -> torch.Tensor:
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssExperts

        return GptOssExperts._apply_gate(self, gate_up)

    def forward(self, hidden_states, router_indices, routing_weights):
        next_states = torch.zeros_like(hidden_states)
        for expert in torch.unique(router_indices).tolist():
            token_idx, top_k_pos = torch.where(router_indices == expert)
            gate_up = hidden_states[token_idx] @ self._weight("gate_up_proj", expert) + self.gate_up_proj_bias[expert]
            out = self._apply_gate(gate_up) @ self._weight("down_proj", expert) + self.down_proj_bias[expert]
            next_states.index_add_(0, token_idx, out * routing_weights[token_idx, top_k_pos, None])
            self.experts_loaded += 1
        return next_states


class StreamedForward:
    """Callable like a GptOssForCausalLM forward with a KV cache, holding one layer at a time."""

    def __init__(self, checkpoint: Checkpoint, dtype: torch.dtype, hooks):
        from transformers import DynamicCache
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssRMSNorm, GptOssRotaryEmbedding

        self.config = checkpoint.hf_config()
        self.dtype, self.hooks = dtype, hooks
        self.weights = checkpoint.tensors
        self.cache = DynamicCache(config=self.config)
        self.rotary = GptOssRotaryEmbedding(self.config)
        self.norm = GptOssRMSNorm(self.config.hidden_size, eps=self.config.rms_norm_eps)
        self.norm.weight.data = self.weights.get("model.norm.weight").to(dtype)
        self.experts_loaded = 0

    def _layer(self, index: int):
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssDecoderLayer

        prefix = f"model.layers.{index}."
        with torch.device("meta"):
            layer = GptOssDecoderLayer(self.config, index)
        layer.mlp.experts = LazyExperts(self.config, self.weights, prefix + "mlp.experts", self.dtype)
        state = {n[len(prefix):]: self.weights.get(n).to(self.dtype) for n in self.weights.names(prefix) if ".mlp.experts." not in n}
        missing, unexpected = layer.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise RuntimeError(f"layer {index}: missing {missing}, unexpected {unexpected}")
        return layer.eval()

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        # Rows read one id at a time from the mmap: the 201088-row table is never loaded whole.
        rows = {i: self.weights.get_row("model.embed_tokens.weight", i) for i in input_ids.unique().tolist()}
        return torch.stack([torch.stack([rows[i] for i in seq]) for seq in input_ids.tolist()]).to(self.dtype)

    def _lm_head(self, hidden: torch.Tensor) -> torch.Tensor:
        weight = self.weights.get("lm_head.weight")
        chunks = [hidden @ weight[i : i + VOCAB_CHUNK].to(self.dtype).T for i in range(0, weight.shape[0], VOCAB_CHUNK)]
        return torch.cat(chunks, dim=-1)

    @torch.no_grad()
    def __call__(self, input_ids, attention_mask, position_ids) -> torch.Tensor:
        from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

        hidden = self._embed(input_ids)
        mask_kwargs = {"config": self.config, "inputs_embeds": hidden, "attention_mask": attention_mask, "past_key_values": self.cache}
        masks = {"full_attention": create_causal_mask(**mask_kwargs), "sliding_attention": create_sliding_window_causal_mask(**mask_kwargs)}
        position_embeddings = self.rotary(hidden, position_ids)
        for index in range(self.config.num_hidden_layers):
            layer = self._layer(index)
            self.hooks.attach_layer(layer, index)
            hidden = layer(hidden, attention_mask=masks[self.config.layer_types[index]], position_embeddings=position_embeddings,
                           position_ids=position_ids, past_key_values=self.cache, use_cache=True)
            self.hooks.remove()
            self.experts_loaded += layer.mlp.experts.experts_loaded
            del layer
        hidden = self.norm(hidden)
        self.hooks.store_model("final_norm", hidden)
        logits = self._lm_head(hidden)
        self.hooks.store_model("logits", logits)
        return logits
