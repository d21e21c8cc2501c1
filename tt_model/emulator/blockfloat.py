"""Device number formats on the host: round float32 to what a bfloat16 / bfloat8_b / bfloat4_b tile stores.

bfloat16 is round-to-nearest-even of float32.

bfloat8_b / bfloat4_b share one exponent across each run of 16 consecutive elements of a 16x16 face row
(a face row is 16 columns of one tile row, so blocks are 16-column runs aligned to 16 within a row), and
keep m = 7 / 3 magnitude bits plus a sign per element. The rule, done with integer operations on the
float32 bit patterns as ttnn's host packer (tt-metal ``convert_u32_to_bfp``) does it:

- shared exponent E = the largest biased float32 exponent field in the block;
- an element whose exponent field e is 0 (a zero or a denormal) stores mantissa 0, whatever E is;
- otherwise its 24-bit significand (hidden bit set) is shifted right by E - e and the bits shifted out
  are DROPPED (no sticky bit); what is left is rounded half-to-even to m bits, i.e. on the low 24 - m
  bits, and clamped to 2^m - 1;
- the stored value is mantissa * 2^(E - 127 - (m - 1)) with the element's sign; a zero mantissa is +0,
  never -0.

So a block of zeros and denormals flushes to zero, and a denormal next to normal numbers is zero too
(tt-metal tests the exponent field of each element; the device vectors only hold all-denormal blocks,
which flush under either reading).
Dropping the shifted-out bits differs from rounding the exact value |x| / 2^(E - 127 - (m - 1)) only when
they are not all zero and what is left is exactly half a step above an even mantissa: the exact value is
then just above the tie and would round up, the device rounds down to even. Example (bfloat4_b, a block
whose largest element 8.23 has exponent 3): 1 + 2^-21 shifted right by 3 loses its 2^-21 and leaves
exactly 0.5 of a step of 2.0, which rounds to mantissa 0: stored 0.0, where rounding 0.50000024 gives 2.0.
Values that overflow float32 on decoding (mantissa 2^(m-1) or more with E = 255, e.g. infinities) come
back as infinities; a NaN element stays NaN.

Tile padding is zeros, which never raise a block maximum, so padding the last dim to a multiple of 16
gives the same blocks as padding to whole tiles. All vectorized: no Python loop over blocks; most steps
work in place, as from_torch of large weights goes through here.
"""
from __future__ import annotations

import torch

from .dtypes import BLOCK_FLOAT, FACE_SIZE, DataType


def round_bfloat16(x: torch.Tensor) -> torch.Tensor:
    """float32 -> nearest-even bfloat16 -> float32 (what the device stores for bfloat16)."""
    return x.to(torch.bfloat16).to(torch.float32)


def round_block_float(x: torch.Tensor, mantissa_bits: int) -> torch.Tensor:
    """float32 values as a bfloat8_b (``mantissa_bits`` = 7) or bfloat4_b (3) tile stores them (see module doc)."""
    x = x.detach().to(torch.float32)
    if x.dim() == 0:
        x = x.reshape(1)
    shape = x.shape
    width = shape[-1]
    pad = (-width) % FACE_SIZE
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    blocks = x.reshape(*x.shape[:-1], x.shape[-1] // FACE_SIZE, FACE_SIZE)
    bits = blocks.view(torch.int32)  # read only: it may share memory with the caller's tensor
    drop = 24 - mantissa_bits  # low bits of the aligned 24-bit significand rounded away

    exp = (bits >> 23).bitwise_and_(0xFF)
    shared = exp.amax(dim=-1, keepdim=True)
    flush = exp == 0  # zeros and denormals store mantissa 0
    shift = exp.neg_().add_(shared).clamp_(max=31)  # E - e, in the buffer of exp; >= 24 leaves nothing
    sig = (bits & 0x7FFFFF).bitwise_or_(0x800000).bitwise_right_shift_(shift)  # shifted-out bits are gone
    # Round half to even on the low `drop` bits: add (half - 1) + the lowest kept bit, then truncate.
    odd = torch.bitwise_right_shift(sig, drop, out=shift).bitwise_and_(1)
    q = sig.add_(odd).add_((1 << (drop - 1)) - 1).bitwise_right_shift_(drop)
    q.clamp_(max=(1 << mantissa_bits) - 1).masked_fill_(flush, 0)
    # Signed mantissa: (q ^ s) - s negates where s = -1 (sign bit set); an integer 0 converts to +0.0.
    sign = torch.bitwise_right_shift(bits, 31, out=shift)
    q.bitwise_xor_(sign).sub_(sign)
    # step = 2^(E - 127 - (m - 1)): exp2 of an integer is exact, also when the step is denormal, and
    # q * step is exact (an element with a nonzero mantissa decodes to a normal float32 or overflows).
    step = torch.exp2(shared.sub(127 + mantissa_bits - 1).to(torch.float32))
    out = q.to(torch.float32).mul_(step)
    if shared.numel() and int(shared.max()) == 255:  # only blocks holding an inf / NaN: keep NaN as NaN
        out = torch.where(torch.isnan(blocks), blocks, out)
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
