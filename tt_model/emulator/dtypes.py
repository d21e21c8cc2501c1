"""Enums and small value types of the TT-NN API: data types, layouts, math fidelity, memory configs."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import torch

TILE_SIZE = 32
FACE_SIZE = 16


class DataType(enum.Enum):
    BFLOAT16 = 0
    FLOAT32 = 1
    UINT32 = 2
    BFLOAT8_B = 3
    BFLOAT4_B = 4
    UINT8 = 5
    UINT16 = 6
    INT32 = 7

    def __repr__(self) -> str:
        return f"DataType.{self.name}"


bfloat16 = DataType.BFLOAT16
float32 = DataType.FLOAT32
uint32 = DataType.UINT32
int32 = DataType.INT32
uint8 = DataType.UINT8
uint16 = DataType.UINT16
bfloat8_b = DataType.BFLOAT8_B
bfloat4_b = DataType.BFLOAT4_B

BLOCK_FLOAT = {DataType.BFLOAT8_B: 7, DataType.BFLOAT4_B: 3}  # explicit mantissa bits per element
INTEGER = {DataType.UINT32, DataType.INT32, DataType.UINT8, DataType.UINT16}
# Bytes per element as stored on device (block float: mantissa+sign byte/nibble + one exponent per 16).
ELEMENT_BYTES = {
    DataType.BFLOAT16: 2.0, DataType.FLOAT32: 4.0, DataType.UINT32: 4.0, DataType.INT32: 4.0,
    DataType.UINT8: 1.0, DataType.UINT16: 2.0,
    DataType.BFLOAT8_B: 1.0 + 1 / 16, DataType.BFLOAT4_B: 0.5 + 1 / 16,
}
TORCH_INT = {DataType.UINT32: torch.int64, DataType.INT32: torch.int32, DataType.UINT8: torch.uint8,
             DataType.UINT16: torch.int32}


def dtype_from_torch(t: torch.dtype) -> DataType:
    table = {torch.float32: float32, torch.bfloat16: bfloat16, torch.float16: bfloat16, torch.float64: float32,
             torch.int32: int32, torch.int64: uint32, torch.uint8: uint8, torch.int16: uint16, torch.bool: uint8}
    if t not in table:
        raise TypeError(f"Unsupported torch dtype {t}")
    return table[t]


class Layout(enum.Enum):
    ROW_MAJOR = 0
    TILE = 1
    INVALID = 2


ROW_MAJOR_LAYOUT = Layout.ROW_MAJOR
TILE_LAYOUT = Layout.TILE


class StorageType(enum.Enum):
    HOST = 0
    DEVICE = 1


class MathFidelity(enum.Enum):
    LoFi = 0
    HiFi2 = 2
    HiFi3 = 3
    HiFi4 = 4
    Invalid = 255


class ThrottleLevel(enum.Enum):
    NO_THROTTLE = 0
    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3
    LEVEL_4 = 4
    LEVEL_5 = 5


class Arch(enum.Enum):
    GRAYSKULL = 1
    WORMHOLE_B0 = 2
    BLACKHOLE = 3
    QUASAR = 4
    Invalid = 5


class BufferType(enum.Enum):
    DRAM = 0
    L1 = 1
    SYSTEM_MEMORY = 2
    L1_SMALL = 3
    TRACE = 4


class TensorMemoryLayout(enum.Enum):
    INTERLEAVED = 0
    HEIGHT_SHARDED = 2
    WIDTH_SHARDED = 3
    BLOCK_SHARDED = 4


class ShardStrategy(enum.Enum):
    HEIGHT = 0
    WIDTH = 1
    BLOCK = 2


class ShardOrientation(enum.Enum):
    ROW_MAJOR = 0
    COL_MAJOR = 1


class Topology(enum.Enum):
    NeighborExchange = 0
    Linear = 1
    Ring = 2
    Mesh = 3
    Torus = 4


@dataclass(frozen=True)
class MemoryConfig:
    """Accepted and recorded; the emulator keeps every tensor in host RAM whatever it says."""
    memory_layout: TensorMemoryLayout = TensorMemoryLayout.INTERLEAVED
    buffer_type: BufferType = BufferType.DRAM
    shard_spec: object = None

    def is_sharded(self) -> bool:
        return self.memory_layout != TensorMemoryLayout.INTERLEAVED

    def in_l1(self) -> bool:
        return self.buffer_type in (BufferType.L1, BufferType.L1_SMALL)


DRAM_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.DRAM)
L1_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.L1)
L1_HEIGHT_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.HEIGHT_SHARDED, BufferType.L1)
L1_WIDTH_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.WIDTH_SHARDED, BufferType.L1)
L1_BLOCK_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.BLOCK_SHARDED, BufferType.L1)


@dataclass
class WormholeComputeKernelConfig:
    """Matmul/SFPU precision knobs; math_fidelity and fp32_dest_acc_en change the emulated numerics."""
    math_fidelity: MathFidelity = MathFidelity.LoFi
    math_approx_mode: bool = True
    fp32_dest_acc_en: bool = False
    packer_l1_acc: bool = False
    dst_full_sync_en: bool = False
    throttle_level: ThrottleLevel = ThrottleLevel.NO_THROTTLE


BlackholeComputeKernelConfig = WormholeComputeKernelConfig
DeviceComputeKernelConfig = WormholeComputeKernelConfig


def init_device_compute_kernel_config(arch, device_kernel_config=None, *, math_fidelity=MathFidelity.LoFi,
                                      math_approx_mode=True, fp32_dest_acc_en=False, packer_l1_acc=False,
                                      dst_full_sync_en=False, throttle_level=ThrottleLevel.NO_THROTTLE):
    if device_kernel_config is not None:
        return device_kernel_config
    return WormholeComputeKernelConfig(math_fidelity=math_fidelity, math_approx_mode=math_approx_mode,
                                       fp32_dest_acc_en=fp32_dest_acc_en, packer_l1_acc=packer_l1_acc,
                                       dst_full_sync_en=dst_full_sync_en, throttle_level=throttle_level)


@dataclass(frozen=True)
class CoreGrid:
    y: int = 8
    x: int = 8

    @property
    def num_cores(self) -> int:
        return self.x * self.y
