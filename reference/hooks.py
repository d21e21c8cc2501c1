"""Forward hooks that fill a ``Captures`` from HF GPT-OSS modules, whatever owns the modules
(the whole GptOssForCausalLM, or decoder layers streamed one at a time)."""

from __future__ import annotations

import torch

from ground.captures import Captures, PhaseCapture


class CaptureHooks:
    """Attach to decoder layers (and optionally the final norm / lm_head); set ``phase`` before
    each forward pass. Every tensor is detached and stored as float32 (ids as int64)."""

    def __init__(self, captures: Captures):
        self.captures = captures
        self.phase = "prefill"
        self._handles: list = []

    @property
    def current(self) -> PhaseCapture:
        return self.captures.phase(self.phase)

    def attach_layer(self, layer: torch.nn.Module, index: int) -> None:
        def store(name, tensor):
            self.current.layer(index)[name] = tensor.detach().float().clone()

        def layer_in(_module, args, kwargs):
            store("layer_in", args[0] if args else kwargs["hidden_states"])

        def layer_out(_module, _args, _kwargs, output):
            layer_store = self.current.layer(index)
            store("layer_out", output)
            layer_store["resid_attn"] = layer_store["layer_in"] + layer_store["attn_out"]

        def router(_module, _args, output):
            logits, scores, indices = output
            batch_seq = self._batch_seq(index)
            store("router_logits", logits.reshape(*batch_seq, -1))
            store("topk_weights", scores.reshape(*batch_seq, -1))
            self.current.layer(index)["topk_ids"] = indices.reshape(*batch_seq, -1).detach().long().clone()

        hooks = [
            layer.register_forward_pre_hook(layer_in, with_kwargs=True),
            layer.register_forward_hook(layer_out, with_kwargs=True),
            layer.input_layernorm.register_forward_hook(lambda m, a, out: store("attn_norm", out)),
            layer.self_attn.register_forward_hook(lambda m, a, out: store("attn_out", out[0])),
            layer.post_attention_layernorm.register_forward_hook(lambda m, a, out: store("mlp_norm", out)),
            layer.mlp.router.register_forward_hook(router),
            layer.mlp.register_forward_hook(lambda m, a, out: store("moe_out", out[0])),
        ]
        self._handles.extend(hooks)

    def _batch_seq(self, index: int) -> tuple[int, int]:
        # The router sees tokens flattened to [B*S, H]; the layer input still knows B and S.
        b, s, _ = self.current.layer(index)["layer_in"].shape
        return b, s

    def attach_model(self, model: torch.nn.Module) -> None:
        """Whole GptOssForCausalLM: every layer plus the final norm and lm_head."""
        for i, layer in enumerate(model.model.layers):
            self.attach_layer(layer, i)
        self._handles.append(model.model.norm.register_forward_hook(lambda m, a, out: self.store_model("final_norm", out)))
        self._handles.append(model.lm_head.register_forward_hook(lambda m, a, out: self.store_model("logits", out)))

    def store_model(self, name: str, tensor: torch.Tensor) -> None:
        self.current.model[name] = tensor.detach().float().clone()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
