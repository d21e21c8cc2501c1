"""Public model object: prefill, decode, teacher forcing, sampling generation, captures."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ground.errors import UserError
from ground.captures import Captures, decode_phase


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.temperature < 0:
            raise UserError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"top_p must be in (0, 1], got {self.top_p}")


def sample(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> torch.Tensor:
    """logits [B, V] -> token ids [B]."""
    if sampling.temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / sampling.temperature, dim=-1)
    if sampling.top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < sampling.top_p  # always keeps the top token
        sorted_p = torch.where(keep, sorted_p, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


class Generator:
    def __init__(self, model, backend_info: dict):
        self.model = model
        self.backend_info = dict(backend_info, mesh=str(model.mesh), precision=model.precision.as_dict())

    @property
    def config(self):
        return self.model.config

    def prefill(self, token_ids, attention_mask=None, max_new_tokens: int = 128) -> torch.Tensor:
        return self.model.prefill(token_ids, attention_mask, max_new_tokens)

    def decode_step(self, tokens) -> torch.Tensor:
        return self.model.decode_step(tokens)

    def teacher_forced(self, token_ids, forced_tokens, attention_mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Prefill, then feed forced_tokens [B, T] one step at a time.
        Returns (prefill logits [B, S, V], decode logits [B, T, V]); decode logits[:, t] follow forced token t."""
        forced = torch.as_tensor(forced_tokens)
        if forced.dim() != 2 or forced.shape[0] != torch.as_tensor(token_ids).shape[0]:
            raise UserError(f"forced_tokens must be [batch, steps], got shape {tuple(forced.shape)}")
        prefill = self.model.prefill(token_ids, attention_mask, max_new_tokens=max(forced.shape[1], 1))
        steps = [self.model.decode_step(forced[:, t]) for t in range(forced.shape[1])]
        decode = torch.stack(steps, dim=1) if steps else prefill.new_zeros(prefill.shape[0], 0, prefill.shape[2])
        return prefill, decode

    def generate(self, token_ids, max_new_tokens: int, attention_mask=None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int = 0) -> torch.Tensor:
        """Returns the new tokens [B, max_new_tokens]."""
        sampling = Sampling(temperature, top_p, seed)
        rng = torch.Generator().manual_seed(seed)
        logits = self.model.prefill(token_ids, attention_mask, max_new_tokens=max_new_tokens)[:, -1]
        out = []
        for step in range(max_new_tokens):
            token = sample(logits, sampling, rng)
            out.append(token)
            if step + 1 < max_new_tokens:
                logits = self.model.decode_step(token)
        return torch.stack(out, dim=1)

    def capture(self, token_ids, decode_steps: int = 0, decode_tokens=None, attention_mask=None) -> Captures:
        """Same structure as reference.runner.run_reference: prefill, then decode steps fed with
        decode_tokens [B, steps] if given, else the device's own greedy choices."""
        ids = torch.as_tensor(token_ids)
        batch, seq = ids.shape
        captures = Captures(metadata={"backend": self.backend_info["backend"], "mesh": self.backend_info["mesh"]})
        logits = self.model.prefill(ids, attention_mask, max_new_tokens=max(decode_steps, 1),
                                    record=self.model.recorder(captures, "prefill", batch, seq))
        fed = []
        for step in range(decode_steps):
            token = decode_tokens[:, step] if decode_tokens is not None else logits[:, -1].argmax(-1)
            fed.append(token.long())
            step_logits = self.model.decode_step(token, record=self.model.recorder(captures, decode_phase(step), batch, 1))
            logits = step_logits[:, None]
        captures.tokens.update(input_ids=ids.long(),
                               decode_tokens=torch.stack(fed, 1) if fed else torch.zeros(batch, 0, dtype=torch.long))
        return captures

    def isolated_layer(self, index: int, layer_in: torch.Tensor, attention_mask=None) -> dict:
        return self.model.isolated_layer(index, layer_in, attention_mask)

    def isolated_layers(self, reference: Captures, attention_mask=None) -> Captures:
        return self.model.isolated_layers(reference, attention_mask)

    # ---------------------------------------------------------------- timing (the perf runner's clock)
    def synchronize(self) -> None:
        """Waits until the device has finished every queued op (ttnn.synchronize_device)."""
        self.model.ttnn.synchronize_device(self.model.device)

    def device_clock_ns(self) -> float | None:
        """The emulator's modelled device time so far (ns); None on a real device, whose time is measured."""
        if not getattr(self.model.ttnn, "__emulated__", False):
            return None
        from tt_model.emulator import now_ns
        return now_ns(self.model.device)

    def device_memory(self) -> dict | None:
        """What the emulated mesh held at its peak (per chip / per core) and its trace region; None on a real
        device (tt-metal's allocator reports there)."""
        if not getattr(self.model.ttnn, "__emulated__", False):
            return None
        mem = self.model.device.memory
        return {"peak_dram_bytes_per_chip": mem.peak_dram_bytes, "dram_bytes_per_chip": mem.dram_bank_size * 12,
                "peak_l1_bytes_per_core": mem.peak_l1_per_core, "l1_bytes_per_core": mem.l1_bank_size,
                "trace_bytes": mem.peak_trace_bytes, "trace_region_bytes": mem.trace_region_size,
                "unsafe_allocations": mem.unsafe_allocations, "unsafe_at_replay": mem.unsafe_at_replay}

    def signpost(self, name: str) -> None:
        from tt_model.profiling import signpost
        signpost(self.model.ttnn, name)

    def close(self):
        self.model.close()
