"""to_memory_config and typecast: moving a tensor between DRAM, L1 and shards, or between dtypes."""
from __future__ import annotations

from ..dtypes import ELEMENT_BYTES, TILE_SIZE, BufferType, Layout, TensorMemoryLayout
from . import OPS, checks, require

TO_MEMORY_CONFIG = f"{OPS}/core/to_memory_config/to_memory_config_op.cpp"
I2S_DEVICE = f"{OPS}/data_movement/sharded/interleaved_to_sharded/device/interleaved_to_sharded_op.cpp"
S2I_DEVICE = f"{OPS}/data_movement/sharded/sharded_to_interleaved/device/sharded_to_interleaved_device_operation.cpp"
TENSOR_LAYOUT = "ttnn/core/tensor/layout/tensor_layout.cpp"
TYPECAST_DEVICE = f"{OPS}/copy/typecast/device/typecast_device_op.cpp"
L1_ALIGNMENT = 16  # bytes (Wormhole L1 alignment, hal)


@checks("to_memory_config", sources=(TO_MEMORY_CONFIG, I2S_DEVICE, S2I_DEVICE, TENSOR_LAYOUT))
def to_memory_config(tensor, memory_config, dtype) -> None:
    source = tensor.memory_config()
    changes_dtype = dtype is not None and dtype != tensor.dtype
    if source.is_sharded() and memory_config.is_sharded():
        if changes_dtype:  # a std::runtime_error (TT_THROW) in the dispatcher, not a TT_FATAL
            raise RuntimeError(f"TT_THROW @ {TO_MEMORY_CONFIG}: dtype cannot be specified when converting sharded "
                               "tensor to sharded tensor")
    elif memory_config.is_sharded():  # interleaved_to_sharded
        require(not (memory_config.memory_layout == TensorMemoryLayout.BLOCK_SHARDED
                     and memory_config.buffer_type == BufferType.DRAM), I2S_DEVICE, "We don't support DRAM block "
                                                                                    "sharding")
        _row_major_shard_page(tensor, memory_config, I2S_DEVICE, "Shard page size must currently have L1 aligned "
                                                                 "page size")
        if changes_dtype:
            require(tensor.layout == Layout.TILE, I2S_DEVICE, "Input tensor layout must be TILE when dtype "
                                                              f"conversion is needed but got Layout::{tensor.layout.name}")
    elif source.is_sharded():  # sharded_to_interleaved
        require(source.buffer_type == BufferType.L1, S2I_DEVICE, "Input tensor must be in L1")
        if changes_dtype:
            require(tensor.layout == Layout.TILE, S2I_DEVICE, "If diff output type, tensor must be TILED")
    if memory_config.is_sharded():
        shard_shape(tensor.layout, memory_config)


def shard_shape(layout, memory_config) -> None:
    """tensor_layout.cpp: every sharded TILE tensor's shard is a whole number of tiles."""
    spec = memory_config.shard_spec
    require(spec is not None, TENSOR_LAYOUT, "MemoryConfig must have Shard Spec specified for sharded memory layout")
    if layout == Layout.TILE:
        height, width = spec.shape
        require(height % TILE_SIZE == 0 and width % TILE_SIZE == 0, TENSOR_LAYOUT,
                f"Physical shard shape [{height}, {width}] must be tile [{TILE_SIZE}, {TILE_SIZE}] sized!")


def _row_major_shard_page(tensor, memory_config, source: str, message: str) -> None:
    if tensor.layout == Layout.ROW_MAJOR and memory_config.shard_spec is not None:
        page = memory_config.shard_spec.shape[1] * ELEMENT_BYTES[tensor.dtype]
        require(page % L1_ALIGNMENT == 0, source, message)


@checks("typecast", sources=(TYPECAST_DEVICE,))
def typecast(tensor, memory_config) -> None:
    if memory_config is not None:
        require(memory_config.memory_layout == tensor.memory_config().memory_layout, TYPECAST_DEVICE,
                "Typecast operation requires Input and Output memory layout to match. Input layout: "
                f"TensorMemoryLayout::{tensor.memory_config().memory_layout.name}, Output layout: "
                f"TensorMemoryLayout::{memory_config.memory_layout.name}")
