"""matmul / linear, rms_norm, softmax and embedding: the compute ops of a decoder layer."""
from __future__ import annotations

import math

from ..dtypes import TILE_SIZE, BufferType, DataType, Layout, TensorMemoryLayout
from . import OPS, checks, dtype_name, require

MATMUL = f"{OPS}/matmul/matmul.cpp"
MATMUL_DEVICE = f"{OPS}/matmul/device/matmul_device_operation.cpp"
MATMUL_UTILS = f"{OPS}/matmul/device/utilities/matmul_utilities.cpp"
LAYERNORM_DEVICE = f"{OPS}/normalization/layernorm/device/layernorm_device_operation.cpp"
SOFTMAX = f"{OPS}/normalization/softmax/softmax.cpp"
SOFTMAX_DEVICE = f"{OPS}/normalization/softmax/device/softmax_device_operation.cpp"
EMBEDDING = f"{OPS}/embedding/embedding.cpp"
EMBEDDING_DEVICE = f"{OPS}/embedding/device/embedding_device_operation.cpp"

_FLOATS = {DataType.FLOAT32, DataType.BFLOAT16, DataType.BFLOAT8_B, DataType.BFLOAT4_B}
_NORM_DTYPES = (DataType.FLOAT32, DataType.BFLOAT16, DataType.BFLOAT8_B)


def _batch(shape) -> int:
    return math.prod(shape[:-2]) if len(shape) > 2 else 1


def _dram_interleaved(t) -> bool:
    mem = t.memory_config()
    return mem.buffer_type == BufferType.DRAM and mem.memory_layout == TensorMemoryLayout.INTERLEAVED


@checks("matmul", "linear", sources=(MATMUL, MATMUL_DEVICE, MATMUL_UTILS))
def matmul(name: str, a, b, bias, transpose_a: bool, transpose_b: bool, memory_config, program_config) -> None:
    a_shape, b_shape = list(a.shape), list(b.shape)
    if transpose_a:
        a_shape[-2:] = a_shape[-1], a_shape[-2]
    if transpose_b:
        b_shape[-2:] = b_shape[-1], b_shape[-2]
    # matmul.cpp: linear adds a bias only to an unbatched weight
    b_batched = any(d > 1 for d in b_shape[:-2])
    require(not (bias is not None and b_batched), MATMUL, "Batched input not supported when bias exists (linear "
                                                          "operation).")
    # matmul_utilities.cpp compute_matmul_output_shape
    if len(b_shape) > len(a_shape):
        require(all(d == 1 for d in b_shape[:len(b_shape) - len(a_shape)]), MATMUL_UTILS,
                "When in1 rank greater than in0 rank front dimensions need to be 1")
    # matmul_device_operation.cpp validate_on_program_cache_miss (shapes as transposed)
    require(a.layout == Layout.TILE and b.layout == Layout.TILE, MATMUL_DEVICE, "Inputs to matmul must be tilized")
    require(a_shape[-1] == b_shape[-2], MATMUL_DEVICE,
            "The width of the first tensor must be equal to the height of the second tensor. "
            f"Mismatch: width={a_shape[-1]} height={b_shape[-2]}")
    if _batch(b_shape) == 1:
        pass  # bcast_batch: B has no batch, its one matrix multiplies every batch of A
    else:
        require(len(a_shape) == len(b_shape), MATMUL_DEVICE, "Input tensors must have the same rank, got a_shape "
                                                             f"rank: {len(a_shape)} vs b_shape rank: {len(b_shape)}")
        require(a_shape[:-2] == b_shape[:-2], MATMUL_DEVICE, "bmm (non-bcast matmul) expects input tensors of "
                                                             "shapes BCMK*BCKN=BCMN or equivalent")
    require(a.dtype in _FLOATS, MATMUL_DEVICE, "Unsupported data format")
    # matmul.cpp folds the bias into the device op only for the auto config with everything DRAM interleaved;
    # otherwise it adds it with a separate ttnn.add, which the bias checks below never see.
    out_in_dram = memory_config is None or memory_config.buffer_type == BufferType.DRAM
    if bias is not None and program_config is None and out_in_dram and _dram_interleaved(a) and _dram_interleaved(b):
        require(bias.layout == Layout.TILE, MATMUL_DEVICE, "Unsupported input layout")
        require(_batch(bias.shape) == 1, MATMUL_DEVICE, "Unsupported bias shape: batch size not equal to 1.")
        padded, b_padded = _padded_2d(bias), b.padded_shape
        b_last = b_padded[-2] if transpose_b else b_padded[-1]
        require(padded[-2] == TILE_SIZE, MATMUL_DEVICE, f"Unsupported bias shape: padded second last dimension of "
                                                        f"bias, {padded[-2]}, not equal to tile height, {TILE_SIZE}")
        require(padded[-1] == b_last, MATMUL_DEVICE, f"Unsupported bias shape: padded last dimension of bias, "
                                                     f"{padded[-1]}, not equal to second input's padded last "
                                                     f"dimension, {b_last}.")


def _padded_2d(t) -> list[int]:
    """A TILE tensor's padded shape with at least two dims: a 1-D bias is one tile row on the device."""
    dims = [1] * (2 - t.shape.rank) + list(t.shape)
    return [*dims[:-2], *(-(-d // TILE_SIZE) * TILE_SIZE for d in dims[-2:])]



@checks("rms_norm", sources=(LAYERNORM_DEVICE,))
def rms_norm(input, weight, bias, residual) -> None:
    require(input.layout == Layout.TILE, LAYERNORM_DEVICE, f"Input tensor must have TILE layout, got: "
                                                           f"Layout::{input.layout.name}")
    require(input.dtype in _NORM_DTYPES, LAYERNORM_DEVICE, f"Input tensor must be FLOAT32, BFLOAT16, or "
                                                           f"BFLOAT8_B, got: {dtype_name(input.dtype)}")
    if residual is not None:
        require(residual.layout == Layout.TILE, LAYERNORM_DEVICE, f"Residual tensor must have TILE layout, got: "
                                                                  f"Layout::{residual.layout.name}")
        require(list(residual.padded_shape) == list(input.padded_shape), LAYERNORM_DEVICE,
                f"Input and residual shapes must match, got input: {list(input.padded_shape)} vs residual: "
                f"{list(residual.padded_shape)}")
    width = input.padded_shape[-1]
    for what, t in (("Gamma", weight), ("Beta", bias)):
        if t is None:
            continue
        if t.layout == Layout.TILE:
            padded = _padded_2d(t)  # a 1-D gamma is one tile row on the device
            require(width == padded[-1], LAYERNORM_DEVICE, f"{width} != {padded[-1]}")
            require(padded[-2] == TILE_SIZE, LAYERNORM_DEVICE,
                    f"{what} tensor height must be TILE_HEIGHT (32), got: {padded[-2]}")
        else:
            volume = math.prod(t.padded_shape)
            require(t.padded_shape[-1] == TILE_SIZE and volume // TILE_SIZE == width // TILE_SIZE, LAYERNORM_DEVICE,
                    f"{what}'s last padded dim needs to equal tile width and {what.lower()}'s volume needs to align "
                    f"with last padded dim of input. Error with {what.lower()}.value().padded_shape(): "
                    f"{list(t.padded_shape)}, TILE_WIDTH: {TILE_SIZE}, {what.lower()}.value().physical_volume(): "
                    f"{volume}, a.padded_shape(): {list(input.padded_shape)}")
            require(t.dtype in (DataType.FLOAT32, DataType.BFLOAT16), LAYERNORM_DEVICE,
                    f"{what} tensor must be FLOAT32 or BFLOAT16, got: {dtype_name(t.dtype)}")
    if weight is not None and bias is not None:
        require(weight.layout == bias.layout, LAYERNORM_DEVICE, "Gamma and beta must have the same layout!")
    require(input.memory_config().memory_layout != TensorMemoryLayout.HEIGHT_SHARDED, LAYERNORM_DEVICE,
            "Height sharded inputs are not supported.")


@checks("softmax", sources=(SOFTMAX, SOFTMAX_DEVICE))
def softmax(input, dim: int) -> None:
    rank = input.shape.rank
    if not -rank <= dim < rank:
        raise RuntimeError(f"TT_THROW @ {SOFTMAX}: Dimension out of range. Dim: {dim}")
    require(input.layout == Layout.TILE, SOFTMAX_DEVICE, "Inputs to softmax must be tilized")
    require(input.dtype in _NORM_DTYPES, SOFTMAX_DEVICE, f"Input tensor must be FLOAT32, BFLOAT16, or BFLOAT8_B, "
                                                         f"got: {dtype_name(input.dtype)}")


@checks("embedding", sources=(EMBEDDING, EMBEDDING_DEVICE))
def embedding(input, weight, layout, dtype) -> None:
    """embedding.cpp converts a TILE weight to ROW_MAJOR (a block-float one becomes bfloat16) and reshapes both
    to 4-D before the device op; it refuses a typecast only when neither a layout is asked for nor the weight
    is TILE, and applies ``dtype`` only to a TILE result."""
    require(input.dtype in (DataType.UINT32, DataType.BFLOAT16), EMBEDDING_DEVICE, "Input must be UINT32 or BFLOAT16")
    converted = _table_dtype(weight)
    require(converted == DataType.BFLOAT16, EMBEDDING_DEVICE, "Weights tensor must have BFLOAT16 dtype")
    require(not input.is_sharded(), EMBEDDING_DEVICE, "Embedding does not currently support sharded inputs")
    require(not weight.is_sharded(), EMBEDDING_DEVICE, "Embedding does not currently support sharded weights")
    aligned = input.padded_shape[-1] % TILE_SIZE == 0 and weight.padded_shape[-1] % TILE_SIZE == 0
    if aligned and layout is None and weight.layout != Layout.TILE:
        require(dtype is None or dtype == converted, EMBEDDING, "Can only typecast output embeddings when producing "
                                                                "TILE_LAYOUT output")


def embedding_output(weight, layout, dtype):
    """(layout, dtype) of embedding.cpp's result: the asked layout, else the weight's; ``dtype`` on TILE only."""
    out_layout = layout if layout is not None else weight.layout
    converted = _table_dtype(weight)
    return out_layout, (dtype or converted) if out_layout == Layout.TILE else converted


def _table_dtype(weight):
    """The table's dtype after embedding.cpp's to_layout(ROW_MAJOR): block floats come back as bfloat16."""
    return DataType.BFLOAT16 if weight.dtype in (DataType.BFLOAT8_B, DataType.BFLOAT4_B) else weight.dtype
