"""topk and scatter: the routing ops of a mixture-of-experts layer."""
from __future__ import annotations

from ..dtypes import DataType, Layout
from . import OPS, checks, dtype_name, layout_name, require

SCATTER = f"{OPS}/data_movement/scatter/scatter.cpp"
SCATTER_DEVICE = f"{OPS}/data_movement/scatter/device/scatter_device_operation.cpp"
TOPK = f"{OPS}/reduction/topk/topk.cpp"
TOPK_DEVICE = f"{OPS}/reduction/topk/device/topk_device_operation.cpp"

_INDEX_DTYPES = {DataType.INT32, DataType.UINT8, DataType.UINT16, DataType.UINT32}
INT_SCATTER_ROW_LIMIT = 256  # scatter.cpp: longest int32/uint32 TILE row it scatters along


@checks("scatter", sources=(SCATTER, SCATTER_DEVICE))
def scatter(input, dim: int, index, src) -> None:
    rank = input.shape.rank
    # scatter.cpp check_support: ranks and dim, before any device op is built
    require(rank == index.shape.rank, SCATTER,
            f"input_rank must be equal to index_rank (input_rank == {rank}, index_rank == {index.shape.rank})")
    if not isinstance(src, (int, float)):
        require(rank == src.shape.rank, SCATTER,
                f"input_rank must be equal to source_rank (input_rank == {rank}, source_rank == {src.shape.rank})")
    require(-rank <= dim < rank, SCATTER, f"dim must follow the condition -input_rank <= dim < input_rank "
                                          f"(dim: {dim}, rank: {rank}).")
    axis = dim % rank
    for d in range(rank):
        if not isinstance(src, (int, float)):
            require(index.shape[d] <= src.shape[d], SCATTER,
                    f"index_shape[{d}] <= source_shape[{d}] == false (index_shape: {list(index.shape)}, "
                    f"source_shape: {list(src.shape)})")
        if d != axis:
            require(index.shape[d] <= input.shape[d], SCATTER,
                    f"index_shape[{d}] <= input_shape[{d}] == false (index_shape: {list(index.shape)}, "
                    f"input_shape: {list(input.shape)})")
    # scatter.cpp check_support: "fp32 tiled" is refused (to_layout cannot untilize fp32 losslessly yet)
    for what, t in (("input", input), ("source", src)):
        if isinstance(t, (int, float)):
            continue
        require(not (t.dtype == DataType.FLOAT32 and t.layout == Layout.TILE), SCATTER,
                f"Scatter doesn't work for fp32 tiled tensors yet (see to_layout issue #) - {what} tensor is "
                f"{dtype_name(t.dtype)} {layout_name(t.layout)}.")
    for what, t in (("input", input), ("index", index), ("source", src)):
        if isinstance(t, (int, float)):
            continue
        require(not (t.dtype in (DataType.INT32, DataType.UINT32) and t.layout == Layout.TILE
                     and t.shape[axis] > INT_SCATTER_ROW_LIMIT), SCATTER,
                f"Scatter doesn't work for int32 tensors that have scatter row longer than {INT_SCATTER_ROW_LIMIT} "
                f"elements - {what} tensor is of type: {t.dtype.name}, layout: {t.layout.name} and "
                f"{what}_shape[scatter_axis] == {t.shape[axis]}")
    # scatter_device_operation.cpp validate_on_program_cache_miss
    if not isinstance(src, (int, float)):
        require(input.dtype == src.dtype, SCATTER_DEVICE,
                f"input_dtype differs from src_dtype (input_dtype: {dtype_name(input.dtype)}, "
                f"src_dtype: {dtype_name(src.dtype)}).")
    require(index.dtype in _INDEX_DTYPES, SCATTER_DEVICE, f"index_dtype is not integer, it is "
                                                          f"{dtype_name(index.dtype)}.")
    require(not input.is_sharded(), SCATTER_DEVICE, "Sharded tensors are not supported - input_tensor is sharded.")


@checks("topk", sources=(TOPK, TOPK_DEVICE))
def topk(input, k: int, dim: int, memory_config=None) -> None:
    rank = input.shape.rank
    # topk.cpp: the top level transposes any dim to the last one, pads it to >= 64 and k to a multiple of 32
    require(-rank <= dim < rank, TOPK, f"Dimension for topk is out of range (expected to be in range of "
                                       f"[{-rank}, {rank - 1}])")
    size = input.shape[dim]
    require(k <= size, TOPK, f"K cannot be larger than the dimension size! K={k}, dimension size={size}")
    # topk_device_operation.cpp validate_on_program_cache_miss
    require(k != 0, TOPK_DEVICE, "K must be non-zero")
    require(input.layout == Layout.TILE, TOPK_DEVICE, "The input must be in tiled format")
    require(input.dtype in (DataType.BFLOAT16, DataType.BFLOAT8_B), TOPK_DEVICE,
            f"Input tensor must be BFLOAT16, or BFLOAT8_B, got: {dtype_name(input.dtype)}")
    output = memory_config if memory_config is not None else input.memory_config()
    require(not output.is_sharded(), TOPK_DEVICE, "Sharded implementation not supported yet")


def topk_index_dtype(input, dim: int) -> DataType:
    """topk_device_operation.cpp compute_output_specs: UINT16 indices while the (tile-padded) dim fits them."""
    return DataType.UINT16 if input.padded_shape[dim] <= 65535 else DataType.UINT32
