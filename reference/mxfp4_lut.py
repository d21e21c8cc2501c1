"""MXFP4 expert weights to float32, fast enough to do per routed expert on every layer visit.

The same table lookup as ``ground.mxfp4.dequantize_mxfp4`` (one index_select per packed byte yields
both of its values), writing into buffers reused across experts: a fresh 66 MB tensor per call costs
more in page faults than the lookup itself.
"""

from __future__ import annotations

import torch

from ground.mxfp4 import BLOCK, PAIR_TABLE, POWERS


class Dequantizer:
    """Dequantizes one expert weight at a time into per-``slot`` buffers; a result stays valid until
    the next call with the same slot (use one slot per weight that must live at the same time)."""

    def __init__(self):
        self._buffers: dict[tuple[str, str], torch.Tensor] = {}

    def _buffer(self, slot: str, kind: str, numel: int, dtype: torch.dtype) -> torch.Tensor:
        buffer = self._buffers.get((slot, kind))
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=dtype)
            self._buffers[(slot, kind)] = buffer
        return buffer[:numel]

    def __call__(self, blocks: torch.Tensor, scales: torch.Tensor, slot: str) -> torch.Tensor:
        """blocks uint8 [out, G, 16], scales uint8 [out, G] -> float32 [out, G * 32]."""
        if blocks.shape[:-1] != scales.shape or blocks.shape[-1] != BLOCK // 2:
            raise ValueError(f"blocks {tuple(blocks.shape)} do not match scales {tuple(scales.shape)}")
        out, groups = scales.shape
        pairs = blocks.numel()
        index = self._buffer(slot, "index", pairs, torch.int32)
        index.copy_(blocks.reshape(-1))
        values = self._buffer(slot, "values", pairs, torch.int64)
        torch.index_select(PAIR_TABLE, 0, index, out=values)
        scale_index = self._buffer(slot, "scale_index", scales.numel(), torch.int32)
        scale_index.copy_(scales.reshape(-1))
        factors = self._buffer(slot, "factors", scales.numel(), torch.float32)
        torch.index_select(POWERS, 0, scale_index, out=factors)
        weight = values.view(torch.float32).view(out, groups, BLOCK)
        weight.mul_(factors.view(out, groups, 1))
        return weight.view(out, groups * BLOCK)
