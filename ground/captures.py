"""The capture structure shared by the HF reference and the TT-NN model.

Both sides fill the same structure with the same names, so comparing them is a loop over
keys, not a mapping. A run has phases: ``prefill`` then ``decode_0``, ``decode_1``, ...
Each phase holds, per decoder layer, the tensors named in ``LAYER_FIELDS`` and, for the
whole model, those in ``MODEL_FIELDS``.

Shapes (B = batch, S = tokens in the phase: prompt length for prefill, 1 for a decode
step, H = hidden size, E = number of experts, K = experts per token, V = vocab):

============== ============ ==========================================================
field          shape        meaning
============== ============ ==========================================================
layer_in       [B, S, H]    input of the decoder layer (residual stream)
attn_norm      [B, S, H]    output of input_layernorm (RMSNorm before attention)
attn_out       [B, S, H]    output of self-attention (after o_proj, before residual)
resid_attn     [B, S, H]    layer_in + attn_out
mlp_norm       [B, S, H]    output of post_attention_layernorm (RMSNorm before the MoE)
router_logits  [B, S, E]    router linear output (before top-k), float32
topk_ids       [B, S, K]    chosen expert ids, int64, sorted by descending weight
topk_weights   [B, S, K]    softmax over the chosen logits, same order as topk_ids
moe_out        [B, S, H]    output of the MoE block (before residual)
layer_out      [B, S, H]    resid_attn + moe_out
final_norm     [B, S, H]    output of the model's final RMSNorm
logits         [B, S, V]    lm_head output, float32
============== ============ ==========================================================

Besides the phases a run keeps the tokens it was fed, as data (``tokens``): ``input_ids`` [B, S],
``attention_mask`` [B, S] when given, and ``decode_tokens`` [B, steps], the token fed at each decode
step (forced, or the side's own greedy choice).

On disk a ``Captures`` is one safetensors file with flat keys ``{phase}.layers.{i}.{field}``,
``{phase}.{field}`` and ``tokens.{name}``, plus string metadata.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import torch

from ground.fsutil import atomic_write

LAYER_FIELDS: tuple[str, ...] = (
    "layer_in",
    "attn_norm",
    "attn_out",
    "resid_attn",
    "mlp_norm",
    "router_logits",
    "topk_ids",
    "topk_weights",
    "moe_out",
    "layer_out",
)
MODEL_FIELDS: tuple[str, ...] = ("final_norm", "logits")
INTEGER_FIELDS = frozenset({"topk_ids"})
TOKENS = "tokens"


def decode_phase(step: int) -> str:
    return f"decode_{step}"


def phase_key(name: str) -> tuple[str, int | None]:
    """'prefill' -> ('prefill', None); 'decode_3' -> ('decode', 3)."""
    if name.startswith("decode_"):
        return "decode", int(name[len("decode_"):])
    return name, None


@dataclass
class PhaseCapture:
    """Captures of one forward pass (the prefill, or one decode step)."""

    layers: list[dict[str, torch.Tensor]] = field(default_factory=list)
    model: dict[str, torch.Tensor] = field(default_factory=dict)

    def layer(self, index: int) -> dict[str, torch.Tensor]:
        while len(self.layers) <= index:
            self.layers.append({})
        return self.layers[index]


@dataclass
class Captures:
    """All phases of one run, in execution order, plus free-form string metadata."""

    phases: dict[str, PhaseCapture] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, torch.Tensor] = field(default_factory=dict)

    def phase(self, name: str) -> PhaseCapture:
        return self.phases.setdefault(name, PhaseCapture())

    @property
    def decode_tokens(self) -> torch.Tensor:
        """[B, steps] tokens fed at the decode steps ([B, 0] when there were none)."""
        return self.tokens["decode_tokens"]

    @property
    def num_layers(self) -> int:
        return max((len(p.layers) for p in self.phases.values()), default=0)

    def to_flat(self) -> dict[str, torch.Tensor]:
        flat: dict[str, torch.Tensor] = {}
        for phase_name, phase in self.phases.items():
            for i, layer in enumerate(phase.layers):
                for name, tensor in layer.items():
                    flat[f"{phase_name}.layers.{i}.{name}"] = tensor
            for name, tensor in phase.model.items():
                flat[f"{phase_name}.{name}"] = tensor
        for name, tensor in self.tokens.items():
            flat[f"{TOKENS}.{name}"] = tensor
        return {k: v.detach().contiguous().cpu() for k, v in flat.items()}

    @classmethod
    def from_flat(cls, flat: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> "Captures":
        captures = cls(metadata=dict(metadata or {}))
        order = json.loads(captures.metadata.get("phase_order", "[]"))
        for name in order:
            captures.phase(name)
        for key, tensor in flat.items():
            parts = key.split(".")
            if parts[0] == TOKENS:
                captures.tokens[parts[1]] = tensor
                continue
            phase = captures.phase(parts[0])
            if len(parts) == 4 and parts[1] == "layers":
                phase.layer(int(parts[2]))[parts[3]] = tensor
            elif len(parts) == 2:
                phase.model[parts[1]] = tensor
            else:
                raise ValueError(f"capture key {key!r} is not '<phase>.layers.<i>.<field>' or '<phase>.<field>'")
        return captures

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically: a crash mid-write never leaves a half file under ``path``."""
        from safetensors.torch import save_file

        metadata = dict(self.metadata, phase_order=json.dumps(list(self.phases)))
        flat = self.to_flat()
        atomic_write(path, lambda tmp: save_file(flat, tmp, metadata=metadata))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Captures":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            flat = {key: f.get_tensor(key) for key in f.keys()}
        return cls.from_flat(flat, metadata)
