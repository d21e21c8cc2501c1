"""matmul / linear with an emulated Wormhole matrix engine.

Fidelity model (from the ttnn 0.81.1 MathFidelity docstring and tt-metal's matrix-engine tech report):
the FPU multiplies a 5-bit (hidden + 4) mantissa slice of SrcA by a 7-bit (hidden + 6) slice of SrcB per
pass. For matmul in1 (the weights) is unpacked to SrcA and in0 (the activations) to SrcB. Splitting each
operand into a high slice (A: top 4 mantissa bits, B: top 6) and a low remainder:
  LoFi  = Bhi*Ahi           (1 pass)
  HiFi2 = Bhi*(Ahi+Alo)     (2 passes: SrcA's next 4 bits; covers all of bfloat16's 7)
  HiFi3 = Bhi*A + Blo*Ahi   (3 passes: SrcB's next 6 bits)
  HiFi4 = B*A               (4 passes, full product)
Slices are truncations (the unpacker drops low bits). fp32_dest_acc_en=False keeps the destination register in
bfloat16: the emulator accumulates K in chunks of DEST_K_CHUNK and rounds the running sum to bfloat16 after
each chunk (an approximation of in-dest accumulation across in0 blocks); True accumulates in float32.
The default compute config when none is given is init_device_compute_kernel_config's: LoFi, bfloat16 dest.
Truncated weights are cached on the weight tensor, so a static weight is sliced once, not per call.
"""
from __future__ import annotations

import math

import torch

from .blockfloat import round_bfloat16
from .checks import compute as checked
from .dtypes import DataType, MathFidelity, WormholeComputeKernelConfig
from .ops_common import as_float, make_output, per_device, require_device

SRCA_BITS = 4  # mantissa bits of SrcA per pass (excluding the hidden bit)
SRCB_BITS = 6
DEST_K_CHUNK = 256
DEFAULT_CONFIG = WormholeComputeKernelConfig()


def truncate_mantissa(x: torch.Tensor, bits: int) -> torch.Tensor:
    mask = ~((1 << (23 - bits)) - 1)
    return (x.contiguous().view(torch.int32) & mask).view(torch.float32)


def _slices(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    hi = truncate_mantissa(x, bits)
    return hi, x - hi


def _accumulate(a: torch.Tensor, b: torch.Tensor, fp32_dest: bool) -> torch.Tensor:
    k = a.shape[-1]
    if fp32_dest or k <= DEST_K_CHUNK:
        return a @ b
    acc = None
    for start in range(0, k, DEST_K_CHUNK):
        part = a[..., start:start + DEST_K_CHUNK] @ b[..., start:start + DEST_K_CHUNK, :]
        acc = round_bfloat16(part if acc is None else acc + part)
    return acc


def _weight_slices(weight_tensor, shard: torch.Tensor, b: torch.Tensor, transpose_b: bool):
    """(Ahi, A) for a weight shard, cached on the tensor: weights are static, slicing them per call is waste."""
    if weight_tensor.dtype == DataType.BFLOAT4_B:
        return b  # bfloat4_b already fits SrcA: truncation is the identity, keep no second copy
    # Keyed by the shard object, so replicated shards (one shared tensor) share one truncated copy.
    key = ("srcA", id(shard), transpose_b)
    cache = getattr(weight_tensor, "_fidelity_cache", None)
    if cache is not None and key in cache:
        return cache[key]
    hi = truncate_mantissa(b, SRCA_BITS)
    if cache is not None:
        cache[key] = hi
    return hi


def emulated_product(a: torch.Tensor, b: torch.Tensor, config, b_hi: torch.Tensor | None = None) -> torch.Tensor:
    fidelity = config.math_fidelity
    fp32_dest = config.fp32_dest_acc_en
    if fidelity == MathFidelity.HiFi4:
        return _accumulate(a, b, fp32_dest)
    a_hi, a_lo = _slices(a, SRCB_BITS)  # in0 -> SrcB
    if fidelity == MathFidelity.HiFi2:
        return _accumulate(a_hi, b, fp32_dest)
    b_hi = b_hi if b_hi is not None else truncate_mantissa(b, SRCA_BITS)
    if fidelity == MathFidelity.LoFi:
        return _accumulate(a_hi, b_hi, fp32_dest)
    if fidelity == MathFidelity.HiFi3:
        return _accumulate(torch.cat([a_hi, a_lo], -1), torch.cat([b, b_hi], -2), fp32_dest)
    raise ValueError(f"unsupported math fidelity {fidelity}")


_ACTIVATIONS = {
    None: lambda x: x, "relu": torch.relu, "silu": torch.nn.functional.silu, "gelu": torch.nn.functional.gelu,
    "sigmoid": torch.sigmoid, "tanh": torch.tanh,
}


def _matmul(name, a_t, b_t, bias_t, transpose_a, transpose_b, dtype, memory_config, activation,
            compute_kernel_config, program_config=None):
    require_device(name, a_t, b_t, bias_t)
    config = compute_kernel_config or DEFAULT_CONFIG
    checked.matmul(name, a_t, b_t, bias_t, transpose_a, transpose_b, memory_config, program_config)
    k_a = a_t.shape[-2] if transpose_a else a_t.shape[-1]
    act_name = activation if activation is None or isinstance(activation, str) else str(activation).lower()
    if act_name not in _ACTIVATIONS:
        raise ValueError(f"ttnn.{name}: unsupported activation {activation!r}")
    act = _ACTIVATIONS[act_name]
    shards = per_device(lambda a, b, bias: _product(a, b, bias, b_t, transpose_a, transpose_b, config, act),
                        a_t, b_t, bias_t)
    m = a_t.shape[-1] if transpose_a else a_t.shape[-2]
    n = b_t.shape[-2] if transpose_b else b_t.shape[-1]
    batch = math.prod(a_t.shape[:-2]) if a_t.shape.rank > 2 else 1
    tiles = lambda d: math.ceil(d / 32) * 32  # the matrix engine works on whole tiles
    inputs = (a_t, b_t) if bias_t is None else (a_t, b_t, bias_t)
    return make_output(a_t, shards, dtype=dtype or a_t.dtype, memory_config=memory_config, name=name,
                       inputs=inputs, flops=2.0 * batch * tiles(m) * tiles(n) * tiles(k_a),
                       fidelity=config.math_fidelity, program_config=program_config is not None)


def _product(a, b_shard, bias, b_t, transpose_a, transpose_b, config, act):
    a, b = as_float(a), as_float(b_shard)
    a = a.transpose(-1, -2) if transpose_a else a
    b = b.transpose(-1, -2) if transpose_b else b
    b_hi = None
    if config.math_fidelity in (MathFidelity.LoFi, MathFidelity.HiFi3) and not b.is_meta:
        b_hi = _weight_slices(b_t, b_shard, b, transpose_b)
    y = a @ b if a.is_meta else emulated_product(a, b, config, b_hi)
    if bias is not None:
        y = y + as_float(bias)
    return act(y)


def matmul(input_tensor_a, input_tensor_b, *, transpose_a=False, transpose_b=False, memory_config=None, dtype=None,
           program_config=None, activation=None, compute_kernel_config=None, core_grid=None, output_tile=None,
           optional_output_tensor=None, global_cb=None, sub_device_id=None):
    return _matmul("matmul", input_tensor_a, input_tensor_b, None, transpose_a, transpose_b, dtype, memory_config,
                   activation, compute_kernel_config, program_config)


def linear(input_tensor_a, input_tensor_b, *, bias=None, transpose_a=False, transpose_b=False, memory_config=None,
           dtype=None, program_config=None, activation=None, compute_kernel_config=None, core_grid=None,
           output_tile=None, optional_output_tensor=None, global_cb=None, prefetcher_pipes=None):
    return _matmul("linear", input_tensor_a, input_tensor_b, bias, transpose_a, transpose_b, dtype, memory_config,
                   activation, compute_kernel_config, program_config)
