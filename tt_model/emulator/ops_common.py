"""Shared plumbing for emulated ops: device checks, output rounding, per-device application, logging."""
from __future__ import annotations

import torch

from . import oplog
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


def store(x: torch.Tensor, dtype: DataType) -> torch.Tensor:
    """What the device holds for a float32 result written in ``dtype``."""
    if dtype in INTEGER:
        return x.round().to(torch.int64) if x.is_floating_point() else x.to(torch.int64)
    return round_to_dtype(x, dtype)


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
                memory_config=None, name: str | None = None, inputs=(), flops: float = 0.0) -> Tensor:
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
    if oplog.OPLOG.enabled and name is not None:
        oplog.record(name, inputs or (like,), (out,), flops=flops)
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
