"""Core grids and shard specs of the TT-NN API, and the checks a device makes when a tensor is sharded.

The emulator keeps every tensor in host RAM, so a shard spec changes no numbers here; what it must do is
refuse the layouts a Wormhole refuses (sharding outside L1, shards that do not cover the tensor), because
ops such as ``paged_update_cache`` only accept a sharded input on the device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .dtypes import (TILE_SIZE, BufferType, CoreGrid, MemoryConfig, ShardOrientation, ShardStrategy,
                     TensorMemoryLayout)


@dataclass(frozen=True)
class CoreCoord:
    x: int
    y: int


@dataclass(frozen=True)
class CoreRange:
    start: CoreCoord
    end: CoreCoord  # inclusive, as on the device

    def num_cores(self) -> int:
        return (self.end.x - self.start.x + 1) * (self.end.y - self.start.y + 1)


@dataclass(frozen=True)
class CoreRangeSet:
    ranges: tuple[CoreRange, ...]

    def __init__(self, ranges):
        object.__setattr__(self, "ranges", tuple(ranges))

    def num_cores(self) -> int:
        return sum(r.num_cores() for r in self.ranges)


@dataclass(frozen=True)
class ShardSpec:
    grid: CoreRangeSet
    shape: tuple[int, int]  # (height, width) of one shard, in elements
    orientation: ShardOrientation = ShardOrientation.ROW_MAJOR

    def num_cores(self) -> int:
        return self.grid.num_cores()


def num_cores_to_corerangeset(target_num_cores: int, grid_size, row_wise: bool = False) -> CoreRangeSet:
    """The first ``target_num_cores`` cores of a grid_size.x x grid_size.y grid, filled row by row (row_wise)
    or column by column: whole rows/columns as one range, the remainder as another."""
    across, down = (grid_size.x, grid_size.y) if row_wise else (grid_size.y, grid_size.x)
    if not 0 < target_num_cores <= across * down:
        raise RuntimeError(f"TT_FATAL: num_cores_to_corerangeset: {target_num_cores} cores do not fit a "
                           f"{grid_size.x}x{grid_size.y} grid")
    full, rest = divmod(target_num_cores, across)

    def rng(a0, b0, a1, b1):  # (along, across) -> (x, y)
        return CoreRange(CoreCoord(a0, b0), CoreCoord(a1, b1)) if row_wise else CoreRange(CoreCoord(b0, a0),
                                                                                          CoreCoord(b1, a1))
    ranges = [rng(0, 0, across - 1, full - 1)] if full else []
    if rest:
        ranges.append(rng(0, full, rest - 1, full))
    return CoreRangeSet(ranges)


def _round_up(n: int) -> int:
    return math.ceil(n / TILE_SIZE) * TILE_SIZE


def create_sharded_memory_config(shape, core_grid, strategy: ShardStrategy, orientation: ShardOrientation | None = None,
                                 use_height_and_width_as_shard_shape: bool = False) -> MemoryConfig:
    """An L1 sharded MemoryConfig. With use_height_and_width_as_shard_shape, ``shape`` is one shard's (height,
    width); otherwise the tensor's shape, seen as [prod(leading dims), width] and split over the grid."""
    grid = core_grid if isinstance(core_grid, CoreRangeSet) else CoreRangeSet(
        [CoreRange(CoreCoord(0, 0), CoreCoord(core_grid.x - 1, core_grid.y - 1))])
    cores = grid.num_cores()
    if use_height_and_width_as_shard_shape:
        shard = (int(shape[-2]), int(shape[-1]))
    else:
        height, width = math.prod(int(d) for d in shape[:-1]), int(shape[-1])
        if strategy == ShardStrategy.HEIGHT:
            shard = (_round_up(math.ceil(height / cores)), width)
        elif strategy == ShardStrategy.WIDTH:
            shard = (height, _round_up(math.ceil(width / cores)))
        else:
            if not isinstance(core_grid, CoreGrid):
                raise RuntimeError("TT_FATAL: create_sharded_memory_config: BLOCK sharding needs a CoreGrid")
            shard = (_round_up(math.ceil(height / core_grid.y)), _round_up(math.ceil(width / core_grid.x)))
    layout = {ShardStrategy.HEIGHT: TensorMemoryLayout.HEIGHT_SHARDED, ShardStrategy.WIDTH: TensorMemoryLayout.WIDTH_SHARDED,
              ShardStrategy.BLOCK: TensorMemoryLayout.BLOCK_SHARDED}[strategy]
    spec = ShardSpec(grid, shard, orientation or ShardOrientation.ROW_MAJOR)
    return MemoryConfig(layout, BufferType.L1, spec)


def check_fits(opname: str, padded_shape, memory_config: MemoryConfig) -> None:
    """Raises as the device does when a sharded memory config cannot hold a tensor of ``padded_shape``
    (per device). Interleaved configs always fit."""
    if not memory_config.is_sharded():
        return
    if not memory_config.in_l1():
        raise RuntimeError(f"TT_FATAL: {opname}: sharding is only supported in L1, got {memory_config.buffer_type.name}")
    spec = memory_config.shard_spec
    if spec is None:
        raise RuntimeError(f"TT_FATAL: {opname}: a sharded memory config needs a shard spec "
                           "(use ttnn.create_sharded_memory_config)")
    height, width = math.prod(int(d) for d in padded_shape[:-1]), int(padded_shape[-1])
    (shard_h, shard_w), cores = spec.shape, spec.num_cores()
    layout = memory_config.memory_layout
    if layout == TensorMemoryLayout.HEIGHT_SHARDED and (shard_w != width or height > shard_h * cores):
        raise RuntimeError(f"TT_FATAL: {opname}: height shards {shard_h}x{shard_w} on {cores} cores cannot hold a "
                           f"{height}x{width} tensor")
    if layout == TensorMemoryLayout.WIDTH_SHARDED and (shard_h != height or width > shard_w * cores):
        raise RuntimeError(f"TT_FATAL: {opname}: width shards {shard_h}x{shard_w} on {cores} cores cannot hold a "
                           f"{height}x{width} tensor")
