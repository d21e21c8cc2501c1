"""MXFP4 (OCP microscaling FP4) as GPT-OSS checkpoints store expert weights.

Each run of 32 consecutive values along the last dimension shares one E8M0 scale byte
(2**(byte - 127)); each value is an FP4 E2M1 code (sign bit + 3 bits indexing
0, .5, 1, 1.5, 2, 3, 4, 6). Two codes pack into one byte, the even element in the low nibble.
On disk: ``blocks`` uint8 [..., N/32, 16] and ``scales`` uint8 [..., N/32].
"""

from __future__ import annotations

import torch

BLOCK = 32
FP4_MAGNITUDES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
# Midpoints between neighbouring magnitudes: bucketize against them rounds to nearest.
_MIDPOINTS = (FP4_MAGNITUDES[1:] + FP4_MAGNITUDES[:-1]) / 2
_LUT = torch.cat([FP4_MAGNITUDES, -FP4_MAGNITUDES])
_SCALE_BIAS = 127


def quantize_mxfp4(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantizes along the last dimension (its size must be a multiple of 32)."""
    *prefix, n = weight.shape
    if n % BLOCK:
        raise ValueError(f"MXFP4 needs the last dimension to be a multiple of {BLOCK}, got {n}")
    w = weight.detach().float().contiguous().reshape(*prefix, n // BLOCK, BLOCK)
    amax = w.abs().amax(dim=-1, keepdim=True)
    # Smallest power of two that maps the block maximum onto <= 6 (the largest FP4 magnitude),
    # so no element saturates; E8M0 covers 2**-127 .. 2**127.
    exponent = torch.ceil(torch.log2(amax / 6.0)).clamp(-_SCALE_BIAS, _SCALE_BIAS)
    exponent = torch.where(amax > 0, exponent, torch.full_like(exponent, -_SCALE_BIAS))
    scaled = w / torch.exp2(exponent)
    codes = torch.bucketize(scaled.abs(), _MIDPOINTS).to(torch.uint8)
    codes |= (scaled < 0).to(torch.uint8) << 3
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    scales = (exponent.squeeze(-1) + _SCALE_BIAS).to(torch.uint8)
    return packed.contiguous(), scales.contiguous()


# byte -> (value of its low nibble, value of its high nibble) as one int64, so that one index_select moves
# both float32 values of a packed byte; and E8M0 byte -> 2**(byte - 127). 3-4x faster than decoding nibbles.
_BYTES = torch.arange(256)
PAIR_TABLE = torch.stack([_LUT[_BYTES & 0x0F], _LUT[_BYTES >> 4]], dim=-1).contiguous().view(torch.int64).view(-1)
POWERS = torch.ldexp(torch.ones(256), torch.arange(256, dtype=torch.int32) - _SCALE_BIAS)


def dequantize_mxfp4(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Inverse of :func:`quantize_mxfp4`: float values [..., N] from blocks and scales."""
    if blocks.shape[:-1] != scales.shape:
        raise ValueError(f"blocks {tuple(blocks.shape)} do not match scales {tuple(scales.shape)}")
    pairs = torch.index_select(PAIR_TABLE, 0, blocks.reshape(-1).to(torch.int32))
    values = pairs.view(torch.float32).view(*scales.shape, BLOCK)  # [..., G, 32]
    values.mul_(torch.index_select(POWERS, 0, scales.reshape(-1).to(torch.int32)).view(*scales.shape, 1))
    return values.flatten(-2).to(dtype)


def quantize_expert_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """HF in-memory expert weight [E, in, out] -> on-disk blocks [E, out, in/32, 16], scales [E, out, in/32]."""
    return quantize_mxfp4(weight.transpose(1, 2))


def dequantize_expert_weight(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """On-disk blocks [E, out, in/32, 16] -> HF in-memory expert weight [E, in, out]."""
    return dequantize_mxfp4(blocks, scales, dtype).transpose(1, 2).contiguous()
