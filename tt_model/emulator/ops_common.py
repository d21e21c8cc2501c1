"""Shared plumbing for emulated ops: device checks, output rounding, per-device application, recording."""
from __future__ import annotations

import torch

from . import executed
from .blockfloat import round_to_dtype
from .dtypes import BLOCK_FLOAT, INTEGER, DataType, Layout, StorageType
from .tensor import Tensor


def require_device(opname: str, *tensors) -> None:
    for t in tensors:
        if isinstance(t, Tensor):
            if t._storage != StorageType.DEVICE:
                raise RuntimeError(f"TT_FATAL: {opname}: Operands to {opname} need to be on device! "
                                   f"(tensor storage is HOST; call ttnn.to_device first)")
            if t._deallocated:
                raise RuntimeError(f"TT_FATAL: {opname}: Operands to {opname} need to be allocated in buffers on device!")


def require_tile_for_block_float(dtype: DataType, layout: Layout) -> None:
    if dtype in BLOCK_FLOAT and layout != Layout.TILE:
        raise RuntimeError(f"TT_FATAL: Layout must be Layout::TILE for {dtype.name} "
                           f"(block-float data types are stored as tiles), got {layout.name}")


def host_dtype(dtype: DataType) -> torch.dtype:
    """The torch dtype a shard of ``dtype`` is held in on the host. bfloat8_b and bfloat4_b values (at most
    8 significant bits under a shared exponent) are exactly bfloat16 numbers, so every 16-bit-or-narrower
    format is held in bfloat16: half the host memory of float32 for the same values (a full-width 20B layer's
    experts are gigabytes). Ops compute in float32 (``as_float``)."""
    if dtype in INTEGER:
        return torch.int64
    return torch.float32 if dtype == DataType.FLOAT32 else torch.bfloat16


def store(x: torch.Tensor, dtype: DataType) -> torch.Tensor:
    """What the device holds for a float32 result written in ``dtype``. A meta tensor (shape-only mode) has no
    values to round: it keeps its shape in the host dtype of ``dtype``."""
    if x.is_meta:
        return x.to(host_dtype(dtype))
    if dtype in INTEGER:
        return x.round().to(torch.int64) if x.is_floating_point() else x.to(torch.int64)
    if dtype == DataType.BFLOAT16:
        # round-to-nearest-even, once; a copy even when x is bfloat16 already, so a device tensor never
        # aliases the host tensor it came from (the real upload copies)
        return x.to(torch.bfloat16, copy=True)
    if dtype == DataType.FLOAT32:
        return round_to_dtype(x, dtype)
    return _block_float(x, dtype)


ROUNDING_CHUNK = 1 << 22  # elements per block-float rounding pass: its integer temporaries are ~3x the input


def _block_float(x: torch.Tensor, dtype: DataType) -> torch.Tensor:
    """Block-float rounding a chunk of rows at a time into a bfloat16 result (exact: the values fit), so
    converting a multi-GB expert weight never holds several full-size integer copies at once. Blocks run
    along the last dim within a row, so splitting by rows changes no block."""
    rows = x.reshape(-1, x.shape[-1]) if x.dim() else x.reshape(1, 1)
    out = torch.empty(rows.shape, dtype=torch.bfloat16)
    step = max(1, ROUNDING_CHUNK // max(1, rows.shape[1]))
    for start in range(0, rows.shape[0], step):
        out[start:start + step] = round_to_dtype(rows[start:start + step], dtype)
    return out.reshape(x.shape)


def values(t) -> list[torch.Tensor] | float:
    return t._shards if isinstance(t, Tensor) else t


def per_device(fn, *args):
    """Apply ``fn`` to the shards of every device; non-tensor args are passed through unchanged."""
    n = max((a.num_devices for a in args if isinstance(a, Tensor)), default=1)
    out, done = [], {}
    for i in range(n):
        inputs = [(a._shards[i] if a.num_devices > 1 else a._shards[0]) if isinstance(a, Tensor) else a
                  for a in args]
        # Devices holding the very same input shards (replicas) compute the same result: compute it once
        # and share it, as replicas share storage (see from_torch). Costs nothing on sharded inputs.
        key = tuple(id(x) for x in inputs if isinstance(x, torch.Tensor))
        if key not in done:
            done[key] = fn(*inputs)
        out.append(done[key])
    return out


def make_output(like: Tensor, shards, dtype: DataType | None = None, layout: Layout | None = None,
                memory_config=None, name: str | None = None, inputs=(), flops: float = 0.0, fidelity=None,
                program_config: bool = False, dram_bytes: float | None = None) -> Tensor:
    dtype = dtype or like.dtype
    layout = layout or like.layout
    if dtype in BLOCK_FLOAT:
        layout = Layout.TILE
    stored: dict[int, torch.Tensor] = {}
    for shard in shards:
        if id(shard) not in stored:
            stored[id(shard)] = store(shard, dtype)
    out = like.with_shards([stored[id(shard)] for shard in shards], dtype=dtype, layout=layout,
                           memory_config=memory_config)
    if name is not None:
        executed.emit(name, inputs or (like,), (out,), flops=flops, fidelity=fidelity,
                      program_config=program_config, dram_bytes=dram_bytes)
    return out


def as_float(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float32 else x.to(torch.float32)


def reject(opname: str, **keywords) -> None:
    """Raises for keywords given a value the emulator does not model although it would change the result on a
    device (``name=(value, default)``); never accept and ignore such a keyword."""
    for name, (value, default) in keywords.items():
        changed = value is not None if default is None else (value is not default and value != default)
        if changed:
            raise NotImplementedError(f"ttnn.{opname}: {name}={value!r} changes the result on a device and is not "
                                      "emulated")


def require_fp32_dest(opname: str, compute_kernel_config) -> None:
    """Ops other than matmul/linear are emulated in float32, i.e. as with fp32_dest_acc_en=True (and full
    fidelity); an explicit config that asks for a bfloat16 destination register would round differently."""
    if compute_kernel_config is not None and not getattr(compute_kernel_config, "fp32_dest_acc_en", True):
        raise NotImplementedError(f"ttnn.{opname}: compute_kernel_config with fp32_dest_acc_en=False is not "
                                  "emulated (this op is emulated with float32 accumulation)")
