"""reshape, permute, slice, concat: the data-movement ops tt_model builds heads and caches with."""
from __future__ import annotations

import math

from ..dtypes import TILE_SIZE, DataType, Layout
from . import OPS, checks, require

RESHAPE = f"{OPS}/data_movement/reshape_view/reshape.cpp"
RESHAPE_DEVICE = f"{OPS}/data_movement/reshape_view/device/reshape_device_operation.cpp"
PERMUTE_DEVICE = f"{OPS}/data_movement/permute/device/permute_device_operation.cpp"
SLICE = f"{OPS}/data_movement/slice/slice.cpp"
SLICE_DEVICE = f"{OPS}/data_movement/slice/device/slice_device_operation.cpp"
CONCAT = f"{OPS}/data_movement/concat/concat.cpp"
CONCAT_DEVICE = f"{OPS}/data_movement/concat/device/concat_device_operation.cpp"

# reshape_device_operation.cpp validate; reshape.cpp typecasts BFLOAT8_B to BFLOAT16 around the device op
_RESHAPE_DTYPES = {DataType.BFLOAT16, DataType.FLOAT32, DataType.INT32, DataType.UINT32, DataType.BFLOAT8_B}


@checks("reshape", sources=(RESHAPE, RESHAPE_DEVICE))
def reshape(input, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The resolved shape (one -1 inferred), as reshape.cpp's infer_dims_for_reshape computes it."""
    inferred = [i for i, d in enumerate(shape) if d == -1]
    require(len(inferred) <= 1, RESHAPE, "Only one dimension can be inferred in reshape")
    volume = math.prod(input.shape)
    if inferred:
        known = math.prod(d for d in shape if d != -1)
        shape = tuple(volume // known if d == -1 else d for d in shape) if known else shape
    require(math.prod(shape) == volume, RESHAPE, "Attempting to reshape between two shapes with different volumes")
    require(input.dtype in _RESHAPE_DTYPES, RESHAPE_DEVICE,
            "Can only work with bfloat16/float32 or int32/uint32 tensors")
    return tuple(shape)


@checks("reshape", sources=(RESHAPE_DEVICE,))
def reshape_memory(input, memory_config) -> None:
    if memory_config is not None:
        require(memory_config.memory_layout == input.memory_config().memory_layout, RESHAPE_DEVICE,
                "Output tensor must have the same memory layout as input tensor")


@checks("permute", sources=(PERMUTE_DEVICE,))
def permute(input, dims) -> None:
    require(len(dims) == input.shape.rank, PERMUTE_DEVICE, "Permute dimensions must match input tensor rank")
    require(sorted(d % input.shape.rank for d in dims) == list(range(input.shape.rank)), PERMUTE_DEVICE,
            "Permute dimensions must match input tensor rank")
    require(not input.is_sharded(), PERMUTE_DEVICE, "Permute operation does not support sharded input tensor")


@checks("slice", sources=(SLICE, SLICE_DEVICE))
def slice(input, start, end, step) -> tuple[list[int], list[int]]:
    """The wrapped (start, end) the device op gets. slice.cpp turns a TILE slice that is strided or does not
    begin on a tile boundary into a ROW_MAJOR one (to_layout) instead of refusing it, except for the dtypes it
    names; the device op's checks then see tile-padded ends."""
    rank = input.shape.rank
    require(rank == len(start), SLICE, f"Input rank {rank} and begins {len(start)} must have the same size")
    require(len(start) == len(end), SLICE, f"Start {len(start)} and end {len(end)} must have the same size")
    step = list(step) if step is not None else [1] * rank
    require(len(step) == len(start), SLICE, f"Step {len(step)} must have the same size as start {len(start)} "
                                            "and end")
    shape = input.shape
    begins = [int(b) % shape[i] if int(b) < 0 else int(b) for i, b in enumerate(start)]
    ends = [int(e) % shape[i] if int(e) < 0 else int(e) for i, e in enumerate(end)]
    strided = any(s != 1 for s in step)
    aligned = rank == 1 or (begins[-1] % TILE_SIZE == 0 and begins[-2] % TILE_SIZE == 0)
    row_major = input.layout == Layout.ROW_MAJOR
    if input.layout == Layout.TILE and (strided or rank == 1 or input.is_sharded() or not aligned):
        row_major = True  # slice.cpp converts to ROW_MAJOR: the device op then sees the logical shape
        if strided:
            require(input.dtype != DataType.BFLOAT8_B, SLICE, "Strided slice is not supported for BFLOAT8 tensors")
        require(input.dtype != DataType.UINT16, SLICE, "This slice requires an implicit Tile->RM conversion and "
                                                       "that is not currently supported for uint16")
    for i in range(rank):
        require(ends[i] >= begins[i], SLICE, f"End {ends[i]} must be greater than or equal to start {begins[i]}")
    # slice_device_operation.cpp validate: starts inside the tensor, (padded) ends within its padded shape
    padded = input.shape if row_major else input.padded_shape
    for i in range(rank):
        require(begins[i] < max(shape[i], 1) or begins[i] == ends[i], SLICE_DEVICE,
                f"Slice start[{i}] ({begins[i]}) must be less than input tensor shape[{i}] ({shape[i]})")
        require(ends[i] <= padded[i], SLICE_DEVICE,
                f"Ends {ends} must be less than or equal to the shape of the tensor {list(padded)}")
    return begins, ends


@checks("concat", sources=(CONCAT, CONCAT_DEVICE))
def concat(tensors, dim: int) -> None:
    require(len(tensors) > 0, CONCAT, "ttnn.concat: expected a non-empty list of Tensors!")
    first = tensors[0]
    rank = first.shape.rank
    require(-rank <= dim < rank, CONCAT, f"ttnn: Dimension out of range: dim {dim} cannot be used for tensors of "
                                         f"rank {rank}")
    require(len({t.layout for t in tensors}) == 1, CONCAT_DEVICE, "All Tensors should have same layouts.")
    require(len({t.dtype for t in tensors}) == 1, CONCAT_DEVICE, "All Tensors should have same dtypes.")
    require(len({t.shape.rank for t in tensors}) == 1, CONCAT_DEVICE, "Input tensor ranks must be equal")
    axis = dim % rank
    for t in tensors[1:]:
        require(all(t.shape[d] == first.shape[d] for d in range(rank) if d != axis), CONCAT_DEVICE,
                "concat tensors differ in shape across non-concat dimensions.")
    require(len({t.is_sharded() for t in tensors}) == 1, CONCAT_DEVICE,
            "All tensors must be sharded or all must be interleaved")
