"""Device number formats on the host: round float32 to what a bfloat16 / bfloat8_b / bfloat4_b tile stores.

bfloat8_b / bfloat4_b share one exponent across each run of 16 consecutive elements of a 16x16 face row
(a face row is 16 columns of one tile row, so blocks are 16-column runs aligned to 16 within a row).
The shared exponent is the largest float32 exponent in the block; each element keeps
round-half-to-even(|x| / 2^(e - 127 - (m - 1))) clamped to 2^m - 1, m = 7 or 3. A block whose largest
exponent is 0 (all denormal or zero) is flushed to zero; a zero mantissa is +0, never -0. Tile padding is zeros, which never raise a block
maximum, so padding the last dim to a multiple of 16 gives the same blocks as padding to whole tiles.
All vectorized: no Python loop over blocks.
"""
from __future__ import annotations

import torch

from .dtypes import BLOCK_FLOAT, FACE_SIZE, DataType


def round_bfloat16(x: torch.Tensor) -> torch.Tensor:
    """float32 -> nearest-even bfloat16 -> float32 (what the device stores for bfloat16)."""
    return x.to(torch.bfloat16).to(torch.float32)


def round_block_float(x: torch.Tensor, mantissa_bits: int) -> torch.Tensor:
    x = x.to(torch.float32)
    if x.dim() == 0:
        x = x.reshape(1)
    shape = x.shape
    width = shape[-1]
    pad = (-width) % FACE_SIZE
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    blocks = x.reshape(*x.shape[:-1], -1, FACE_SIZE)
    exp_bits = (blocks.view(torch.int32) >> 23) & 0xFF
    shared = exp_bits.amax(dim=-1, keepdim=True)
    # step = 2^(e - 127 - (m - 1)): exp2 of an integer is exact, also when the step is denormal.
    step = torch.exp2((shared - 127 - (mantissa_bits - 1)).to(torch.float32))
    q = torch.round(blocks.abs() / step).clamp_(max=float(2 ** mantissa_bits - 1))
    # A zero mantissa decodes as +0 (the device keeps no negative zero); an all-denormal block flushes.
    q = torch.where(shared == 0, torch.zeros((), dtype=torch.float32), q)
    out = torch.copysign(q * step, blocks).add_(0.0)  # -0 + 0 = +0
    out = out.reshape(*x.shape)
    if pad:
        out = out[..., :width]
    return out.reshape(shape).contiguous()


def round_to_dtype(x: torch.Tensor, dtype: DataType) -> torch.Tensor:
    """Float32 values as the device would hold them in ``dtype`` (returned as float32)."""
    if dtype == DataType.FLOAT32:
        return x.to(torch.float32)
    if dtype == DataType.BFLOAT16:
        return round_bfloat16(x)
    if dtype in BLOCK_FLOAT:
        return round_block_float(x, BLOCK_FLOAT[dtype])
    raise ValueError(f"{dtype} is not a floating point data type")
