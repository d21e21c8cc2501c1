"""The two sides lm-eval scores, behind one small interface, so that tokenising, batching, stop
strings and sampling are one code path and only the forward pass differs.

``forward(rows)``: full-sequence logits of token rows of different lengths (log-likelihoods).
``start(prompts, max_new)`` then ``step(tokens)``: incremental decoding with a KV cache (generation).
Prompts are left padded with an attention mask; positions skip the padding on both sides.
"""

from __future__ import annotations

import inspect

import torch

from bench.inputs import left_pad
from ground.checkpoint import Checkpoint
from ground.errors import UserError
from reference.engine import positions


class ReferenceSide:
    """The HF model on CPU (transformers' GptOssForCausalLM, MXFP4 experts dequantized)."""

    name = "reference"

    def __init__(self, checkpoint: Checkpoint, dtype: str = "float32", experts: str | None = None):
        from reference.loader import load_hf_model

        self.model = load_hf_model(checkpoint, getattr(torch, dtype))
        if experts is not None:  # transformers' MoE kernel choice (5.x): same maths, another summation order
            if not hasattr(self.model, "set_experts_implementation"):
                raise UserError(f"experts_implementation={experts!r} needs transformers 5 (installed: an older one)")
            self.model.set_experts_implementation(experts)
        self.info = {"backend": "hf-cpu", "dtype": dtype,
                     "experts_implementation": getattr(self.model.config, "_experts_implementation", None)}
        self._cache = self._mask = None
        # transformers renamed past_key_values to cache (5.x warns on the old name until 5.40).
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    @torch.no_grad()
    def forward(self, rows: list[list[int]]) -> list[torch.Tensor]:
        # Right padding and no mask, exactly as lm-eval's HFLM calls a causal model: a row's logits
        # never see the padding after it, so the numbers match HFLM's on the same rows.
        width = max(map(len, rows))
        ids = torch.tensor([list(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
        logits = self.model(input_ids=ids).logits.float()
        return [logits[i, : len(r)] for i, r in enumerate(rows)]

    @torch.no_grad()
    def start(self, prompts: list[list[int]], max_new: int, pad_id: int) -> torch.Tensor:
        from transformers import DynamicCache

        ids, self._mask = left_pad(prompts, pad_id)
        self._cache = DynamicCache(config=self.model.config)
        out = self.model(input_ids=ids, attention_mask=self._mask, position_ids=positions(self._mask),
                         use_cache=True, **{self._cache_arg: self._cache})
        return out.logits[:, -1].float()

    @torch.no_grad()
    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        self._mask = torch.cat([self._mask, torch.ones_like(self._mask[:, :1])], dim=1)
        out = self.model(input_ids=tokens[:, None], attention_mask=self._mask,
                         position_ids=positions(self._mask)[:, -1:], use_cache=True, **{self._cache_arg: self._cache})
        return out.logits[:, -1].float()

    def close(self) -> None:
        self._cache = self._mask = None


class DeviceSide:
    """The TT-NN model (real ttnn on Wormhole, or the host emulator) through ``tt_model.load``."""

    name = "device"

    def __init__(self, checkpoint: Checkpoint, mesh: str, backend: str, precision):
        import tt_model

        self.generator = tt_model.load(checkpoint, mesh=mesh, backend=backend, precision=precision)
        self.info = dict(self.generator.backend_info)

    def forward(self, rows: list[list[int]]) -> list[torch.Tensor]:
        # Left padded: every row ends at the last column, the layout tt_model's prefill takes.
        ids, mask = left_pad(rows, 0)
        logits = self.generator.prefill(ids, attention_mask=mask, max_new_tokens=1)
        width = ids.shape[1]
        return [logits[i, width - len(r):].float() for i, r in enumerate(rows)]

    def start(self, prompts: list[list[int]], max_new: int, pad_id: int) -> torch.Tensor:
        ids, mask = left_pad(prompts, pad_id)
        return self.generator.prefill(ids, attention_mask=mask, max_new_tokens=max_new)[:, -1].float()

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.generator.decode_step(tokens).float()

    def close(self) -> None:
        self.generator.close()
