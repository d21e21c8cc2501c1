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


CORE_PY = "ttnn/core.py (ttnn 0.81.1 wheel) create_sharded_memory_config"
_LAYOUTS = {ShardStrategy.HEIGHT: TensorMemoryLayout.HEIGHT_SHARDED,
            ShardStrategy.WIDTH: TensorMemoryLayout.WIDTH_SHARDED,
            ShardStrategy.BLOCK: TensorMemoryLayout.BLOCK_SHARDED}


def create_sharded_memory_config(shape, core_grid, strategy: ShardStrategy, orientation: ShardOrientation | None = None,
                                 use_height_and_width_as_shard_shape: bool = False) -> MemoryConfig:
    """An L1 sharded MemoryConfig, computed as ttnn/core.py does (pure Python in the wheel; its plain
    RuntimeErrors are kept word for word). With use_height_and_width_as_shard_shape, ``shape``'s last two dims
    are one shard's (height, width), swapped for COL_MAJOR; otherwise the tensor is seen as
    [prod(leading dims) * height, width] and must divide evenly over the grid: no rounding to tiles."""
    if len(shape) < 2:
        raise RuntimeError("Invalid input shape")
    if not isinstance(core_grid, (CoreGrid, CoreRangeSet)):
        raise RuntimeError("Invalid core_grid type")
    if strategy not in _LAYOUTS:
        raise RuntimeError("Invalid sharding strategy")
    orientation = ShardOrientation.ROW_MAJOR if orientation is None else orientation
    if orientation not in (ShardOrientation.ROW_MAJOR, ShardOrientation.COL_MAJOR):
        raise RuntimeError("Invalid shard orientation")
    if isinstance(core_grid, CoreRangeSet):
        if not use_height_and_width_as_shard_shape:
            raise RuntimeError("height and width must be shard shape with CoreRangeSet")
        grid = core_grid
    else:
        grid = CoreRangeSet([CoreRange(CoreCoord(0, 0), CoreCoord(core_grid.x - 1, core_grid.y - 1))])
    *batch, height, width = (int(d) for d in shape)
    if use_height_and_width_as_shard_shape:
        shard = (height, width) if orientation == ShardOrientation.ROW_MAJOR else (width, height)
    else:
        total_height, cores = math.prod(batch) * height, core_grid.x * core_grid.y
        if strategy == ShardStrategy.HEIGHT:
            _divides(total_height, cores)
            shard = (total_height // cores, width)
        elif strategy == ShardStrategy.WIDTH:
            _divides(width, cores)
            shard = (total_height, width // cores)
        else:
            rows, cols = ((core_grid.y, core_grid.x) if orientation == ShardOrientation.ROW_MAJOR
                          else (core_grid.x, core_grid.y))
            _divides(total_height, rows)
            _divides(width, cols)
            shard = (total_height // rows, width // cols)
    return MemoryConfig(_LAYOUTS[strategy], BufferType.L1, ShardSpec(grid, shard, orientation))


def _divides(size: int, parts: int) -> None:
    if size % parts:
        raise RuntimeError("Invalid sharding core_grid")


def check_fits(opname: str, padded_shape, memory_config: MemoryConfig) -> None:
    """Raises as the device does when a sharded memory config cannot hold a tensor of ``padded_shape``
    (per device). Interleaved configs always fit."""
    if not memory_config.is_sharded():
        return
    spec = memory_config.shard_spec
    if spec is None:  # checks/memory.py refuses it first, with tensor_layout.cpp's message
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
