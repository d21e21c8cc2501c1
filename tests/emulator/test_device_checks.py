"""The emulator refuses what a Wormhole running ttnn 0.81.1 refuses, in tt-metal's words.

Every refusal goes through the public emulated op and is matched against the message text of the check in
``tt_model/emulator/checks`` (tt-metal's wording) and the source file the TT_FATAL cites. Next to each refusal
the accepted neighbouring case runs with real numbers. The few checks the public ops cannot reach (the
documented-dtype table of ``dispatch`` refuses first, or ``check_fits`` does) are called directly at the end.
"""
import contextlib
import re

import pytest
import torch

torch.manual_seed(0)

OPS = "ttnn/cpp/ttnn/operations/"
SCATTER = OPS + "data_movement/scatter/scatter.cpp"
SCATTER_DEVICE = OPS + "data_movement/scatter/device/scatter_device_operation.cpp"
TOPK = OPS + "reduction/topk/topk.cpp"
TOPK_DEVICE = OPS + "reduction/topk/device/topk_device_operation.cpp"
RESHAPE = OPS + "data_movement/reshape_view/reshape.cpp"
RESHAPE_DEVICE = OPS + "data_movement/reshape_view/device/reshape_device_operation.cpp"
PERMUTE_DEVICE = OPS + "data_movement/permute/device/permute_device_operation.cpp"
SLICE = OPS + "data_movement/slice/slice.cpp"
SLICE_DEVICE = OPS + "data_movement/slice/device/slice_device_operation.cpp"
CONCAT = OPS + "data_movement/concat/concat.cpp"
CONCAT_DEVICE = OPS + "data_movement/concat/device/concat_device_operation.cpp"
MATMUL = OPS + "matmul/matmul.cpp"
MATMUL_DEVICE = OPS + "matmul/device/matmul_device_operation.cpp"
MATMUL_UTILS = OPS + "matmul/device/utilities/matmul_utilities.cpp"
LAYERNORM_DEVICE = OPS + "normalization/layernorm/device/layernorm_device_operation.cpp"
SOFTMAX = OPS + "normalization/softmax/softmax.cpp"
SOFTMAX_DEVICE = OPS + "normalization/softmax/device/softmax_device_operation.cpp"
EMBEDDING = OPS + "embedding/embedding.cpp"
EMBEDDING_DEVICE = OPS + "embedding/device/embedding_device_operation.cpp"
TO_MEMORY_CONFIG = OPS + "core/to_memory_config/to_memory_config_op.cpp"
I2S_DEVICE = OPS + "data_movement/sharded/interleaved_to_sharded/device/interleaved_to_sharded_op.cpp"
S2I_DEVICE = OPS + "data_movement/sharded/sharded_to_interleaved/device/sharded_to_interleaved_device_operation.cpp"
TENSOR_LAYOUT = "ttnn/core/tensor/layout/tensor_layout.cpp"
TYPECAST_DEVICE = OPS + "copy/typecast/device/typecast_device_op.cpp"


# ---------------------------------------------------------------- helpers (as in test_ops.py)
# Short dtype/layout names for the case tables, resolved against the ttnn fixture when a case runs.
_NAMES = {"f32": "float32", "i32": "int32", "bf16": "bfloat16", "u16": "uint16", "u32": "uint32",
          "bf8": "bfloat8_b", "rm": "ROW_MAJOR_LAYOUT", "tile": "TILE_LAYOUT"}


def _resolve(ttnn, name):
    return getattr(ttnn, _NAMES[name]) if isinstance(name, str) else name


def dev(ttnn, device, x, dtype=None, layout=None, **kw):
    return ttnn.from_torch(x, dtype=_resolve(ttnn, dtype) or ttnn.bfloat16,
                           layout=_resolve(ttnn, layout) or ttnn.TILE_LAYOUT, device=device, **kw)


def rm(ttnn, device, x, dtype=None):
    return dev(ttnn, device, x, dtype, ttnn.ROW_MAJOR_LAYOUT)


def ids(ttnn, device, x, dtype=None):
    return ttnn.from_torch(x, dtype=_resolve(ttnn, dtype) or ttnn.uint32, device=device)


def back(ttnn, t):
    out = ttnn.to_torch(t)
    return out.to(torch.float32) if out.is_floating_point() else out


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


def shard(ttnn, t, cores=1, strategy=None, **kw):
    """``t`` height-sharded (by default) over ``cores`` cores of one column, through to_memory_config."""
    config = ttnn.create_sharded_memory_config(list(t.shape), ttnn.CoreGrid(y=cores, x=1),
                                               strategy or ttnn.ShardStrategy.HEIGHT)
    return ttnn.to_memory_config(t, config, **kw)


@contextlib.contextmanager
def refused(source, message, kind="TT_FATAL"):
    """The op raises RuntimeError holding ``message`` word for word, prefixed as ``kind @ source: ``."""
    with pytest.raises(RuntimeError, match=re.escape(message)) as info:
        yield info
    assert str(info.value).startswith(f"{kind} @ {source}: "), str(info.value)


def run_refusal(ttnn, device, case):
    call, source, message = case[:3]
    with refused(source, message, *case[3:]):
        call(ttnn, device)


def cases(table: dict):
    return pytest.mark.parametrize("case", list(table.values()), ids=list(table))


# ---------------------------------------------------------------- scatter
def _scatter(inp=(32, 8), idx=(32, 4), src=(32, 4), dim=-1, inp_dt=None, idx_dt=None, src_dt=None,
             inp_layout=None, src_layout=None, sharded=False):
    def call(nn, d):
        i = dev(nn, d, torch.zeros(inp), inp_dt, inp_layout)
        i = shard(nn, i) if sharded else i
        index = ids(nn, d, torch.randint(0, 4, idx), idx_dt)
        return nn.scatter(i, dim, index, dev(nn, d, torch.ones(src), src_dt, src_layout))
    return call


SCATTER_CASES = {
    "index_rank": (_scatter(inp=(1, 32, 8)), SCATTER,
                   "input_rank must be equal to index_rank (input_rank == 3, index_rank == 2)"),
    "source_rank": (_scatter(src=(1, 32, 4)), SCATTER,
                    "input_rank must be equal to source_rank (input_rank == 2, source_rank == 3)"),
    "dim": (_scatter(dim=2), SCATTER,
            "dim must follow the condition -input_rank <= dim < input_rank (dim: 2, rank: 2)."),
    "index_gt_source": (_scatter(src=(32, 2)), SCATTER, "index_shape[1] <= source_shape[1] == false "
                        "(index_shape: [32, 4], source_shape: [32, 2])"),
    "index_gt_input": (_scatter(inp=(16, 8)), SCATTER, "index_shape[0] <= input_shape[0] == false "
                       "(index_shape: [32, 4], input_shape: [16, 8])"),
    "fp32_tiled_input": (_scatter(inp_dt="f32", src_dt="f32", src_layout="rm"), SCATTER,
                         "Scatter doesn't work for fp32 tiled tensors yet (see to_layout issue #) - input "
                         "tensor is DataType::FLOAT32 Layout::TILE."),
    "fp32_tiled_source": (_scatter(inp_dt="f32", inp_layout="rm", src_dt="f32"), SCATTER,
                          "Scatter doesn't work for fp32 tiled tensors yet (see to_layout issue #) - source "
                          "tensor is DataType::FLOAT32 Layout::TILE."),
    "int32_long_row": (_scatter(inp=(32, 300), inp_dt="i32", src_dt="i32"), SCATTER,
                       "Scatter doesn't work for int32 tensors that have scatter row longer than 256 elements "
                       "- input tensor is of type: INT32, layout: TILE and "
                       "input_shape[scatter_axis] == 300"),
    "src_dtype": (_scatter(src_dt="f32", src_layout="rm"), SCATTER_DEVICE,
                  "input_dtype differs from src_dtype (input_dtype: DataType::BFLOAT16, "
                  "src_dtype: DataType::FLOAT32)."),
    "index_dtype": (_scatter(idx_dt="bf16"), SCATTER_DEVICE, "index_dtype is not integer, it is DataType::BFLOAT16."),
    "sharded": (_scatter(inp=(32, 64), sharded=True), SCATTER_DEVICE,
                "Sharded tensors are not supported - input_tensor is sharded."),
}


@cases(SCATTER_CASES)
def test_scatter_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_scatter_accepted(ttnn, device):
    weights = torch.rand(32, 4)
    idx = torch.stack([torch.randperm(8)[:4] for _ in range(32)])  # distinct per row: no write order to model
    base = torch.randn(32, 8)
    got = ttnn.scatter(dev(ttnn, device, base), -1, ids(ttnn, device, idx), dev(ttnn, device, weights))
    assert got.dtype == ttnn.bfloat16
    assert torch.equal(back(ttnn, got), bf16(base.scatter(-1, idx, bf16(weights))))
    rows = torch.stack([torch.randperm(32)[:4] for _ in range(8)], 1)  # dim 0, distinct rows per column
    got0 = ttnn.scatter(dev(ttnn, device, base), 0, ids(ttnn, device, rows), dev(ttnn, device, weights.T))
    assert torch.equal(back(ttnn, got0), bf16(base.scatter(0, rows, bf16(weights.T))))
    # the int32 row limit is for TILE only: a ROW_MAJOR int32 row of 300 scatters
    base = torch.randint(-9, 9, (4, 300), dtype=torch.int32)
    idx300 = torch.stack([torch.randperm(300)[:2] for _ in range(4)])
    src = torch.randint(-9, 9, (4, 2), dtype=torch.int32)
    got300 = ttnn.scatter(rm(ttnn, device, base, ttnn.int32), -1, ids(ttnn, device, idx300),
                          rm(ttnn, device, src, ttnn.int32))
    assert torch.equal(ttnn.to_torch(got300).long(), base.scatter(-1, idx300, src).long())


# ---------------------------------------------------------------- topk
def _topk(k=4, dim=-1, dtype=None, sharded=False):
    def call(nn, d):
        x = dev(nn, d, torch.randn(32, 64), dtype)
        return nn.topk(shard(nn, x) if sharded else x, k, dim=dim)
    return call


TOPK_CASES = {
    "dim": (_topk(dim=2), TOPK, "Dimension for topk is out of range (expected to be in range of [-2, 1])"),
    "k_gt_dim": (_topk(k=65), TOPK, "K cannot be larger than the dimension size! K=65, dimension size=64"),
    "k_zero": (_topk(k=0), TOPK_DEVICE, "K must be non-zero"),
    "float32": (_topk(dtype="f32"), TOPK_DEVICE, "Input tensor must be BFLOAT16, or BFLOAT8_B, got: DataType::FLOAT32"),
    "sharded": (_topk(sharded=True), TOPK_DEVICE, "Sharded implementation not supported yet"),
}


@cases(TOPK_CASES)
def test_topk_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


@pytest.mark.parametrize("dtype", ["bf16", "bf8"])
def test_topk_accepted_64_wide_uint16_indices(ttnn, device, dtype):
    x = torch.stack([torch.randperm(64) for _ in range(32)]).float()  # distinct, exact in bf16 and bfloat8_b
    t = dev(ttnn, device, x, dtype)
    values, indices = ttnn.topk(t, 4, dim=-1)
    ref = torch.topk(x, 4)
    assert indices.dtype == ttnn.uint16 and values.dtype == t.dtype
    assert torch.equal(back(ttnn, values), ref.values)
    assert torch.equal(ttnn.to_torch(indices).long(), ref.indices)
    _, i0 = ttnn.topk(dev(ttnn, device, x.T.contiguous(), dtype), 3, dim=0)  # any dim, k up to its size
    assert torch.equal(ttnn.to_torch(i0).long(), torch.topk(x.T, 3, dim=0).indices)


@pytest.mark.parametrize("width,index_dtype", [(65504, "uint16"), (65505, "uint32"), (65536, "uint32")])
def test_topk_index_dtype_follows_padded_width(ttnn, device, width, index_dtype):
    """topk_index_dtype: UINT16 while the tile-padded dim is <= 65535 (65505 pads to 65536)."""
    from tt_model.emulator.checks import selection
    x = dev(ttnn, device, torch.randn(1, width))
    assert selection.topk_index_dtype(x, -1) == getattr(ttnn, index_dtype)
    _, indices = ttnn.topk(x, 2)
    assert indices.dtype == getattr(ttnn, index_dtype)


# ---------------------------------------------------------------- reshape
def _reshape(shape, dtype=None, memory_config=None, layout=None):
    return lambda nn, d: nn.reshape(dev(nn, d, torch.randn(2, 3, 32, 64), dtype, layout), shape,
                                    memory_config=memory_config and getattr(nn, memory_config))


RESHAPE_CASES = {
    "two_inferred": (_reshape((-1, -1, 64)), RESHAPE, "Only one dimension can be inferred in reshape"),
    "volume": (_reshape((2, 3, 32, 32)), RESHAPE, "Attempting to reshape between two shapes with different volumes"),
    "inferred_volume": (_reshape((-1, 100)), RESHAPE,
                        "Attempting to reshape between two shapes with different volumes"),
    "uint16": (_reshape((6, 32, 64), "u16", layout="rm"), RESHAPE_DEVICE,
               "Can only work with bfloat16/float32 or int32/uint32 tensors"),
    "memory_layout": (_reshape((6, 32, 64), memory_config="L1_HEIGHT_SHARDED_MEMORY_CONFIG"), RESHAPE_DEVICE,
                      "Output tensor must have the same memory layout as input tensor"),
}


@cases(RESHAPE_CASES)
def test_reshape_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_reshape_accepted(ttnn, device):
    x = torch.randn(2, 3, 32, 64)
    t8 = dev(ttnn, device, x, ttnn.bfloat8_b)
    got = ttnn.reshape(t8, (-1, 64), memory_config=ttnn.L1_MEMORY_CONFIG)  # same layout, other buffer: fine
    assert tuple(got.shape) == (192, 64) and got.dtype == ttnn.bfloat8_b
    assert torch.equal(back(ttnn, got), back(ttnn, t8).reshape(192, 64))
    u = rm(ttnn, device, torch.arange(24, dtype=torch.int32).reshape(2, 12), ttnn.int32)
    assert ttnn.to_torch(ttnn.reshape(u, (4, -1))).tolist() == torch.arange(24).reshape(4, 6).tolist()


# ---------------------------------------------------------------- permute
def _permute(dims, sharded=False):
    def call(nn, d):
        x = dev(nn, d, torch.randn(32, 64) if sharded else torch.randn(2, 3, 32, 64))
        return nn.permute(shard(nn, x) if sharded else x, dims)
    return call


PERMUTE_CASES = {
    "too_few": (_permute((0, 1, 2)), PERMUTE_DEVICE, "Permute dimensions must match input tensor rank"),
    "repeated": (_permute((0, 1, 1, 2)), PERMUTE_DEVICE, "Permute dimensions must match input tensor rank"),
    "sharded": (_permute((1, 0), sharded=True), PERMUTE_DEVICE,
                "Permute operation does not support sharded input tensor"),
}


@cases(PERMUTE_CASES)
def test_permute_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


@pytest.mark.parametrize("dims", [(0, 2, 1, 3), (3, 0, 2, 1), (0, -1, -2, 1)])
def test_permute_accepted(ttnn, device, dims):
    x = bf16(torch.randn(2, 3, 32, 64))
    assert torch.equal(back(ttnn, ttnn.permute(dev(ttnn, device, x), dims)), x.permute(*dims))


# ---------------------------------------------------------------- slice
def _slice(start, end, step=None, shape=(40, 70), dtype=None, layout=None):
    return lambda nn, d: nn.slice(dev(nn, d, torch.randn(shape), dtype, layout), start, end, step)


SLICE_CASES = {
    "begins_rank": (_slice([0], [1]), SLICE, "Input rank 2 and begins 1 must have the same size"),
    "ends_rank": (_slice([0, 0], [1]), SLICE, "Start 2 and end 1 must have the same size"),
    "step_rank": (_slice([0, 0], [1, 1], [1]), SLICE, "Step 1 must have the same size as start 2 and end"),
    "strided_bfloat8": (_slice([0, 0], [64, 64], [1, 2], (64, 64), "bf8"), SLICE,
                        "Strided slice is not supported for BFLOAT8 tensors"),
    "uint16_to_row_major": (_slice([0, 1], [64, 64], shape=(64, 64), dtype="u16"), SLICE,
                            "This slice requires an implicit Tile->RM conversion and that is not currently "
                            "supported for uint16"),
    "end_before_start": (_slice([5, 0], [3, 64]), SLICE, "End 3 must be greater than or equal to start 5"),
    "start_outside": (_slice([5, 0], [6, 64], shape=(4, 64), layout="rm"), SLICE_DEVICE,
                      "Slice start[0] (5) must be less than input tensor shape[0] (4)"),
    "end_outside": (_slice([0, 0], [4, 100], shape=(4, 64), layout="rm"), SLICE_DEVICE,
                    "Ends [4, 100] must be less than or equal to the shape of the tensor [4, 64]"),
}


@cases(SLICE_CASES)
def test_slice_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_slice_accepted(ttnn, device):
    x = bf16(torch.randn(40, 70))
    t = dev(ttnn, device, x)
    # an unaligned TILE slice: ttnn goes through ROW_MAJOR instead of refusing
    assert torch.equal(back(ttnn, ttnn.slice(t, [1, 3], [39, 67])), x[1:39, 3:67])
    assert torch.equal(back(ttnn, ttnn.slice(t, [0, 0], [40, 70], [2, 3])), x[::2, ::3])  # strided bfloat16
    assert torch.equal(back(ttnn, ttnn.slice(t, [-8, 0], [-1, 64])), x[-8:-1, :64])  # negative indices wrap
    t8 = dev(ttnn, device, torch.randn(64, 64), ttnn.bfloat8_b)
    got8 = ttnn.slice(t8, [3, 5], [60, 50])  # unit steps: no refusal; the values are re-blocked as bfloat8_b
    assert got8.dtype == ttnn.bfloat8_b
    assert torch.equal(back(ttnn, got8), back(ttnn, dev(ttnn, device, back(ttnn, t8)[3:60, 5:50], ttnn.bfloat8_b)))
    r = rm(ttnn, device, torch.randn(4, 64))
    assert tuple(ttnn.slice(r, [3, 0], [3, 64]).shape) == (0, 64)  # an empty slice is no out-of-range start


# ---------------------------------------------------------------- concat
def _concat(*specs, dim=-1, sharded=()):
    """specs: (shape, dtype, layout) per tensor; sharded: indices of the tensors to height-shard."""
    def call(nn, d):
        ts = [dev(nn, d, torch.randn(s), dt, lo) for s, dt, lo in specs]
        return nn.concat([shard(nn, t) if i in sharded else t for i, t in enumerate(ts)], dim=dim)
    return call


A, B = ((32, 64), None, None), ((32, 32), None, None)
CONCAT_CASES = {
    "empty": (_concat(), CONCAT, "ttnn.concat: expected a non-empty list of Tensors!"),
    "dim": (_concat(A, B, dim=2), CONCAT, "ttnn: Dimension out of range: dim 2 cannot be used for tensors of rank 2"),
    "layouts": (_concat(A, ((32, 32), None, "rm")), CONCAT_DEVICE, "All Tensors should have same layouts."),
    "dtypes": (_concat(A, ((32, 32), "f32", None)), CONCAT_DEVICE, "All Tensors should have same dtypes."),
    "ranks": (_concat(A, ((1, 32, 32), None, None)), CONCAT_DEVICE, "Input tensor ranks must be equal"),
    "other_dims": (_concat(A, ((64, 32), None, None)), CONCAT_DEVICE,
                   "concat tensors differ in shape across non-concat dimensions."),
    "sharded_mix": (_concat(A, B, sharded=(0,)), CONCAT_DEVICE,
                    "All tensors must be sharded or all must be interleaved"),
}


@cases(CONCAT_CASES)
def test_concat_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_concat_accepted(ttnn, device):
    a, b = bf16(torch.randn(32, 64)), bf16(torch.randn(32, 32))
    got = ttnn.concat([dev(ttnn, device, a), dev(ttnn, device, b)], dim=-1)
    assert torch.equal(back(ttnn, got), torch.cat([a, b], -1))
    assert torch.equal(back(ttnn, ttnn.concat([dev(ttnn, device, a)] * 2, dim=0)), torch.cat([a, a], 0))
    both = ttnn.concat([shard(ttnn, dev(ttnn, device, a)), shard(ttnn, dev(ttnn, device, a))], dim=0)
    assert torch.equal(back(ttnn, both), torch.cat([a, a], 0))


# ---------------------------------------------------------------- matmul / linear
def _mm(a, b, op="matmul", bias=None, a_dtype=None, a_layout=None, **kw):
    def call(nn, d):
        args = dict(kw)
        if bias is not None:
            args["bias"] = dev(nn, d, torch.randn(bias))
        return getattr(nn, op)(dev(nn, d, torch.randn(a), a_dtype, a_layout), dev(nn, d, torch.randn(b)), **args)
    return call


MATMUL_CASES = {
    "in1_rank_front_dims": (_mm((32, 64), (2, 64, 32)), MATMUL_UTILS,
                            "When in1 rank greater than in0 rank front dimensions need to be 1"),
    "row_major": (_mm((32, 64), (64, 32), a_layout="rm"), MATMUL_DEVICE, "Inputs to matmul must be tilized"),
    "inner_dims": (_mm((32, 64), (32, 64)), MATMUL_DEVICE, "The width of the first tensor must be equal to the height "
                   "of the second tensor. Mismatch: width=64 height=32"),
    "inner_dims_transposed": (_mm((32, 64), (64, 32), transpose_b=True), MATMUL_DEVICE, "The width of the first "
                              "tensor must be equal to the height of the second tensor. Mismatch: width=64 height=32"),
    "batched_ranks": (_mm((2, 32, 64), (1, 2, 64, 32)), MATMUL_DEVICE,
                      "Input tensors must have the same rank, got a_shape rank: 3 vs b_shape rank: 4"),
    "batch_broadcast": (_mm((2, 1, 32, 64), (1, 3, 64, 32)), MATMUL_DEVICE,
                        "bmm (non-bcast matmul) expects input tensors of shapes BCMK*BCKN=BCMN or equivalent"),
    "batch_mismatch": (_mm((2, 3, 32, 64), (3, 2, 64, 32)), MATMUL_DEVICE,
                       "bmm (non-bcast matmul) expects input tensors of shapes BCMK*BCKN=BCMN or equivalent"),
    "integer_input": (_mm((32, 64), (64, 32), a_dtype="u32"), MATMUL_DEVICE, "Unsupported data format"),
    "bias_batched_b": (_mm((32, 64), (2, 64, 32), "linear", bias=(32,)), MATMUL,
                       "Batched input not supported when bias exists (linear operation)."),
    "bias_batch": (_mm((32, 64), (64, 32), "linear", bias=(2, 1, 32)), MATMUL_DEVICE,
                   "Unsupported bias shape: batch size not equal to 1."),
    "bias_height": (_mm((64, 64), (64, 32), "linear", bias=(64, 32)), MATMUL_DEVICE, "Unsupported bias shape: "
                    "padded second last dimension of bias, 64, not equal to tile height, 32"),
    "bias_width": (_mm((32, 64), (64, 64), "linear", bias=(32,)), MATMUL_DEVICE, "Unsupported bias shape: padded "
                   "last dimension of bias, 32, not equal to second input's padded last dimension, 64."),
}


@cases(MATMUL_CASES)
def test_matmul_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def _close_bf16(got, ref):
    """A bfloat16 result of an exact (HiFi4, fp32-accumulated) product: within one bf16 rounding."""
    assert torch.allclose(got, ref, rtol=2 ** -8, atol=1e-6), (got - ref).abs().max()


@pytest.mark.parametrize("a_shape,b_shape", [((2, 3, 32, 64), (1, 1, 64, 32)), ((2, 3, 32, 64), (64, 32)),
                                             ((2, 3, 32, 64), (2, 3, 64, 32)), ((32, 64), (1, 64, 32)),
                                             ((3, 40, 70), (70, 50))])
def test_matmul_accepted_broadcast_and_batched(ttnn, device, a_shape, b_shape):
    a, b = bf16(torch.randn(a_shape)), bf16(torch.randn(b_shape))
    cfg = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4, fp32_dest_acc_en=True)
    got = ttnn.matmul(dev(ttnn, device, a), dev(ttnn, device, b), compute_kernel_config=cfg)
    ref = a @ b
    assert tuple(got.shape) == tuple(ref.shape) and got.dtype == ttnn.bfloat16
    _close_bf16(back(ttnn, got), ref)


def test_matmul_accepted_transposed_and_linear_bias(ttnn, device):
    cfg = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4, fp32_dest_acc_en=True)
    a, b = bf16(torch.randn(64, 64)), bf16(torch.randn(64, 32))
    ta, tb = dev(ttnn, device, a), dev(ttnn, device, b)
    got_t = ttnn.matmul(ta, dev(ttnn, device, b.T.contiguous()), transpose_b=True, compute_kernel_config=cfg)
    _close_bf16(back(ttnn, got_t), a @ b)
    for bias_shape in [(32,), (1, 32), (1, 1, 32)]:  # one tile row, the weight's width: folded into the device op
        bias = bf16(torch.randn(bias_shape))
        got = ttnn.linear(ta, tb, bias=dev(ttnn, device, bias), compute_kernel_config=cfg, dtype=ttnn.float32)
        assert torch.allclose(back(ttnn, got), (a @ b + bias).reshape(64, 32), atol=1e-5)
    # outside DRAM, matmul.cpp adds the bias with a separate ttnn.add: the fused-bias shape rules do not apply
    full_bias = bf16(torch.randn(64, 32))
    got = ttnn.linear(ta, tb, bias=dev(ttnn, device, full_bias), memory_config=ttnn.L1_MEMORY_CONFIG,
                      compute_kernel_config=cfg, dtype=ttnn.float32)
    assert torch.allclose(back(ttnn, got), a @ b + full_bias, atol=1e-5)


# ---------------------------------------------------------------- rms_norm
def _rms(weight=None, bias=None, residual=None, sharded=False):
    """weight/bias: (shape, layout); residual: shape."""
    def call(nn, d):
        x = dev(nn, d, torch.randn(32, 256))
        kw = {k: dev(nn, d, torch.randn(s), layout=lo) for k, (s, lo) in (("weight", weight), ("bias", bias)) if s}
        if residual:
            kw["residual_input_tensor"] = dev(nn, d, torch.randn(residual))
        return nn.rms_norm(shard(nn, x) if sharded else x, **kw)
    return call


NONE = (None, None)
RMS_CASES = {
    "residual_shape": (_rms(NONE, NONE, (64, 256)), LAYERNORM_DEVICE,
                       "Input and residual shapes must match, got input: [32, 256] vs residual: [64, 256]"),
    "gamma_width": (_rms(((1, 128), None), NONE), LAYERNORM_DEVICE, "256 != 128"),
    "gamma_height": (_rms(((64, 256), None), NONE), LAYERNORM_DEVICE,
                     "Gamma tensor height must be TILE_HEIGHT (32), got: 64"),
    "gamma_row_major_shape": (_rms(((256,), "rm"), NONE), LAYERNORM_DEVICE,
                              "Gamma's last padded dim needs to equal tile width and gamma's volume needs to align "
                              "with last padded dim of input. Error with gamma.value().padded_shape(): [256], "
                              "TILE_WIDTH: 32, gamma.value().physical_volume(): 256, a.padded_shape(): [32, 256]"),
    "beta_row_major_volume": (_rms(NONE, ((4, 32), "rm")), LAYERNORM_DEVICE,
                              "Beta's last padded dim needs to equal tile width and beta's volume needs to align "
                              "with last padded dim of input. Error with beta.value().padded_shape(): [4, 32], "
                              "TILE_WIDTH: 32, beta.value().physical_volume(): 128, a.padded_shape(): [32, 256]"),
    "gamma_beta_layouts": (_rms(((1, 256), None), ((8, 32), "rm")), LAYERNORM_DEVICE,
                           "Gamma and beta must have the same layout!"),
    "height_sharded": (_rms(NONE, NONE, sharded=True), LAYERNORM_DEVICE, "Height sharded inputs are not supported."),
}


@cases(RMS_CASES)
def test_rms_norm_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


@pytest.mark.parametrize("layout,shape", [("rm", (1, 1, 8, 32)), ("rm", (8, 32)), ("tile", (1, 256))])
def test_rms_norm_accepted(ttnn, device, layout, shape):
    x, w, b, r = torch.randn(32, 256), torch.randn(256), torch.randn(256), torch.randn(32, 256)
    f = lambda t, lo="tile": dev(ttnn, device, t, ttnn.float32, lo)
    got = ttnn.rms_norm(f(x), epsilon=1e-5, weight=f(w.reshape(shape), layout), bias=f(b.reshape(shape), layout),
                        residual_input_tensor=f(r))
    h = x + r
    assert torch.allclose(back(ttnn, got), h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5) * w + b, atol=1e-5)
    wide = shard(ttnn, f(x), strategy=ttnn.ShardStrategy.WIDTH)  # only height sharding is refused
    assert tuple(ttnn.rms_norm(wide, epsilon=1e-5).shape) == (32, 256)


# ---------------------------------------------------------------- softmax
def test_softmax_refusal_and_accepted(ttnn, device):
    x = torch.randn(32, 64)
    t = dev(ttnn, device, x, ttnn.float32)
    with refused(SOFTMAX, "Dimension out of range. Dim: 2", "TT_THROW"):
        ttnn.softmax(t, dim=2)
    with refused(SOFTMAX, "Dimension out of range. Dim: -3", "TT_THROW"):
        ttnn.softmax(t, dim=-3)
    for dim in (0, -2, 1, -1):
        assert torch.allclose(back(ttnn, ttnn.softmax(t, dim=dim)), torch.softmax(x, dim), atol=1e-6)


# ---------------------------------------------------------------- embedding
def _emb(ids_dtype=None, w_dtype=None, sharded_ids=False, sharded_w=False, **kw):
    def call(nn, d):
        i = ids(nn, d, torch.randint(0, 100, (1, 32)), ids_dtype)
        w = rm(nn, d, torch.randn(100, 64), w_dtype)
        return nn.embedding(shard(nn, i) if sharded_ids else i, shard(nn, w) if sharded_w else w, **kw)
    return call


EMBEDDING_CASES = {
    "ids_int32": (_emb("i32"), EMBEDDING_DEVICE, "Input must be UINT32 or BFLOAT16"),
    "weights_float32": (_emb(w_dtype="f32"), EMBEDDING_DEVICE, "Weights tensor must have BFLOAT16 dtype"),
    "sharded_ids": (_emb(sharded_ids=True), EMBEDDING_DEVICE, "Embedding does not currently support sharded inputs"),
    "sharded_weights": (_emb(sharded_w=True), EMBEDDING_DEVICE,
                        "Embedding does not currently support sharded weights"),
    "typecast_row_major": (_emb(layout=None, dtype="f32"), EMBEDDING,
                           "Can only typecast output embeddings when producing TILE_LAYOUT output"),
}


@cases(EMBEDDING_CASES)
def test_embedding_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_embedding_accepted(ttnn, device):
    w = bf16(torch.randn(100, 64))
    idx = torch.randint(0, 100, (1, 32))
    tw = rm(ttnn, device, w)
    got = ttnn.embedding(ids(ttnn, device, idx), tw, layout=ttnn.TILE_LAYOUT, dtype=ttnn.float32)
    assert got.layout == ttnn.TILE_LAYOUT and got.dtype == ttnn.float32 and torch.equal(back(ttnn, got), w[idx])
    by_bf16 = ttnn.embedding(dev(ttnn, device, idx.float(), layout=ttnn.ROW_MAJOR_LAYOUT), tw)  # BFLOAT16 ids
    assert torch.equal(back(ttnn, by_bf16), w[idx])
    tiled_w = ttnn.embedding(ids(ttnn, device, idx), dev(ttnn, device, w), layout=None, dtype=ttnn.float32)
    assert torch.equal(back(ttnn, tiled_w), w[idx])  # TILE weights: fused tilize, so the typecast is allowed
    assert (tiled_w.layout, tiled_w.dtype) == (ttnn.TILE_LAYOUT, ttnn.float32)
    # embedding.cpp: a ROW_MAJOR result keeps the weight's dtype (dtype is applied to TILE results only)
    row_major = ttnn.embedding(ids(ttnn, device, idx), tw, layout=ttnn.ROW_MAJOR_LAYOUT, dtype=ttnn.float32)
    assert (row_major.layout, row_major.dtype) == (ttnn.ROW_MAJOR_LAYOUT, ttnn.bfloat16)
    # a bfloat8_b TILE table is converted to ROW_MAJOR bfloat16 first, so the device op takes it
    bfp8 = ttnn.embedding(ids(ttnn, device, idx), dev(ttnn, device, w, ttnn.bfloat8_b), layout=ttnn.TILE_LAYOUT)
    assert bfp8.dtype == ttnn.bfloat16 and bfp8.shape == (1, 32, 64)


# ---------------------------------------------------------------- to_memory_config / shard_shape
def _height(nn, shape, cores, buffer="L1"):
    spec = nn.create_sharded_memory_config(list(shape), nn.CoreGrid(y=cores, x=1), nn.ShardStrategy.HEIGHT).shard_spec
    return nn.MemoryConfig(nn.TensorMemoryLayout.HEIGHT_SHARDED, getattr(nn.BufferType, buffer), spec)


def _to_mem(shape, config, layout=None, dtype=None, source=None):
    """config(nn) -> MemoryConfig; source(nn): the memory config of the input (from_torch)."""
    def call(nn, d):
        kw = {"memory_config": source(nn)} if source else {}
        t = dev(nn, d, torch.randn(shape), layout=layout, **kw)
        return nn.to_memory_config(t, config(nn), dtype=_resolve(nn, dtype))
    return call


TO_MEMORY_CASES = {
    "sharded_to_sharded_dtype": (_to_mem((64, 64), lambda nn: _height(nn, (64, 64), 1), dtype="f32",
                                         source=lambda nn: _height(nn, (64, 64), 2)), TO_MEMORY_CONFIG,
                                 "dtype cannot be specified when converting sharded tensor to sharded tensor",
                                 "TT_THROW"),
    "row_major_page": (_to_mem((64, 4), lambda nn: _height(nn, (64, 4), 2), "rm"), I2S_DEVICE,
                       "Shard page size must currently have L1 aligned page size"),
    "i2s_dtype_row_major": (_to_mem((64, 8), lambda nn: _height(nn, (64, 8), 2), "rm", "f32"), I2S_DEVICE,
                            "Input tensor layout must be TILE when dtype conversion is needed but got "
                            "Layout::ROW_MAJOR"),
    "s2i_from_dram": (_to_mem((64, 64), lambda nn: nn.DRAM_MEMORY_CONFIG, source=lambda nn: _height(nn, (64, 64), 2,
                                                                                                     "DRAM")),
                      S2I_DEVICE, "Input tensor must be in L1"),
    "s2i_dtype_row_major": (_to_mem((64, 8), lambda nn: nn.DRAM_MEMORY_CONFIG, "rm", "f32",
                                    source=lambda nn: _height(nn, (64, 8), 2)), S2I_DEVICE,
                            "If diff output type, tensor must be TILED"),
    "tile_shard_shape": (_to_mem((32, 32), lambda nn: _height(nn, (32, 32), 2)), TENSOR_LAYOUT,
                         "Physical shard shape [16, 32] must be tile [32, 32] sized!"),
    "tile_shard_width": (_to_mem((32, 64), lambda nn: nn.create_sharded_memory_config(
        [32, 64], nn.CoreGrid(y=1, x=4), nn.ShardStrategy.WIDTH)), TENSOR_LAYOUT,
        "Physical shard shape [32, 16] must be tile [32, 32] sized!"),
}


@cases(TO_MEMORY_CASES)
def test_to_memory_config_refusals(ttnn, device, case):
    run_refusal(ttnn, device, case)


def test_to_memory_config_accepted(ttnn, device):
    x = bf16(torch.randn(64, 64))
    t = dev(ttnn, device, x)
    sharded = ttnn.to_memory_config(t, _height(ttnn, (64, 64), 2), dtype=ttnn.float32)  # TILE may change dtype
    assert sharded.is_sharded() and sharded.dtype == ttnn.float32 and torch.equal(back(ttnn, sharded), x)
    resharded = ttnn.to_memory_config(sharded, ttnn.create_sharded_memory_config(
        [64, 64], ttnn.CoreGrid(y=1, x=2), ttnn.ShardStrategy.WIDTH))  # sharded -> sharded without a dtype
    assert resharded.memory_config().memory_layout == ttnn.TensorMemoryLayout.WIDTH_SHARDED
    back_i = ttnn.to_memory_config(resharded, ttnn.DRAM_MEMORY_CONFIG, dtype=ttnn.bfloat16)
    assert not back_i.is_sharded() and back_i.dtype == ttnn.bfloat16 and torch.equal(back(ttnn, back_i), x)
    r = rm(ttnn, device, x[:, :8].contiguous())  # ROW_MAJOR: 16-byte pages, and shards need not be whole tiles
    r16 = ttnn.to_memory_config(r, _height(ttnn, (64, 8), 4))
    assert r16.memory_config().shard_spec.shape == (16, 8) and torch.equal(back(ttnn, r16), x[:, :8])


# ---------------------------------------------------------------- typecast
def test_typecast_refusal_and_accepted(ttnn, device):
    x = bf16(torch.randn(64, 64))
    t = dev(ttnn, device, x)
    with refused(TYPECAST_DEVICE, "Typecast operation requires Input and Output memory layout to match. Input "
                 "layout: TensorMemoryLayout::INTERLEAVED, Output layout: TensorMemoryLayout::HEIGHT_SHARDED"):
        ttnn.typecast(t, ttnn.float32, memory_config=_height(ttnn, (64, 64), 2))
    sharded = shard(ttnn, t, 2)
    with refused(TYPECAST_DEVICE, "Input layout: TensorMemoryLayout::HEIGHT_SHARDED, Output layout: "
                 "TensorMemoryLayout::INTERLEAVED"):
        ttnn.typecast(sharded, ttnn.float32, memory_config=ttnn.L1_MEMORY_CONFIG)
    f32 = ttnn.typecast(t, ttnn.float32, memory_config=ttnn.L1_MEMORY_CONFIG)  # interleaved DRAM -> L1: same layout
    assert f32.dtype == ttnn.float32 and f32.memory_config() == ttnn.L1_MEMORY_CONFIG
    assert torch.equal(back(ttnn, f32), x)
    kept = ttnn.typecast(sharded, ttnn.float32)
    assert kept.is_sharded() and torch.equal(back(ttnn, kept), x)


# ---------------------------------------------------------------- create_sharded_memory_config (ttnn/core.py)
def _crs(nn):
    return nn.CoreRangeSet([nn.CoreRange(nn.CoreCoord(0, 0), nn.CoreCoord(1, 1))])


CREATE_SHARDED_CASES = {  # (shape, core_grid(nn), strategy, orientation) -> ttnn/core.py's plain RuntimeError
    "core_range_set": (([64, 64], _crs, "HEIGHT", None), "height and width must be shard shape with CoreRangeSet"),
    "100_rows_on_8_cores": (([100, 64], lambda nn: nn.CoreGrid(y=8, x=1), "HEIGHT", None),
                            "Invalid sharding core_grid"),
    "folded_height": (([1, 100, 64], lambda nn: nn.CoreGrid(y=2, x=4), "HEIGHT", None), "Invalid sharding core_grid"),
    "width": (([32, 100], lambda nn: nn.CoreGrid(y=1, x=8), "WIDTH", None), "Invalid sharding core_grid"),
    "block_rows": (([96, 64], lambda nn: nn.CoreGrid(y=5, x=2), "BLOCK", None), "Invalid sharding core_grid"),
    # BLOCK COL_MAJOR splits the height over x: 64 rows do not split in 3 (ROW_MAJOR splits them over y = 2)
    "block_col_major": (([64, 96], lambda nn: nn.CoreGrid(y=2, x=3), "BLOCK", "COL_MAJOR"),
                        "Invalid sharding core_grid"),
    "shape_rank": (([64], lambda nn: nn.CoreGrid(y=1, x=1), "HEIGHT", None), "Invalid input shape"),
    "core_grid_type": (([64, 64], lambda nn: (1, 1), "HEIGHT", None), "Invalid core_grid type"),
    "strategy": (([64, 64], lambda nn: nn.CoreGrid(y=1, x=1), "height", None), "Invalid sharding strategy"),
    "orientation": (([64, 64], lambda nn: nn.CoreGrid(y=1, x=1), "HEIGHT", "row"), "Invalid shard orientation"),
}


@cases(CREATE_SHARDED_CASES)
def test_create_sharded_memory_config_refusals(ttnn, case):
    (shape, grid, strategy, orientation), message = case
    strategy = getattr(ttnn.ShardStrategy, strategy, strategy)
    orientation = getattr(ttnn.ShardOrientation, orientation, orientation) if orientation else None
    with pytest.raises(RuntimeError, match=f"^{re.escape(message)}$"):  # word for word, nothing around it
        ttnn.create_sharded_memory_config(shape, grid(ttnn), strategy, orientation)


def test_create_sharded_memory_config_shard_shapes(ttnn):
    c, S, O = ttnn.create_sharded_memory_config, ttnn.ShardStrategy, ttnn.ShardOrientation
    crs = ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(1, 1))])
    row = c([2, 64, 96], crs, S.HEIGHT, use_height_and_width_as_shard_shape=True)
    assert row.shard_spec.shape == (64, 96) and row.shard_spec.grid == crs
    col = c([2, 64, 96], crs, S.HEIGHT, O.COL_MAJOR, use_height_and_width_as_shard_shape=True)
    assert col.shard_spec.shape == (96, 64) and col.shard_spec.orientation == O.COL_MAJOR  # (width, height)
    on_grid = c([64, 96], ttnn.CoreGrid(y=3, x=5), S.BLOCK, O.COL_MAJOR, use_height_and_width_as_shard_shape=True)
    assert on_grid.shard_spec.shape == (96, 64) and on_grid.shard_spec.num_cores() == 15
    assert c([64, 96], ttnn.CoreGrid(y=2, x=3), S.BLOCK).shard_spec.shape == (32, 32)  # cf. block_col_major
    grid = ttnn.CoreGrid(y=4, x=2)
    block = c([2, 64, 256], grid, S.BLOCK)  # ROW_MAJOR: (h / y, w / x), h the folded height
    assert block.shard_spec.shape == (128 // 4, 256 // 2)
    assert block.memory_layout == ttnn.TensorMemoryLayout.BLOCK_SHARDED
    assert c([2, 64, 256], grid, S.BLOCK, O.COL_MAJOR).shard_spec.shape == (128 // 2, 256 // 4)  # (h / x, w / y)
    height = c([2, 64, 96], grid, S.HEIGHT)
    assert height.shard_spec.shape == (16, 96) and height.memory_layout == ttnn.TensorMemoryLayout.HEIGHT_SHARDED
    width = c([2, 64, 96], ttnn.CoreGrid(y=1, x=3), S.WIDTH)
    assert width.shard_spec.shape == (128, 32) and width.memory_layout == ttnn.TensorMemoryLayout.WIDTH_SHARDED
    assert c([40, 64], ttnn.CoreGrid(y=8, x=1), S.HEIGHT).shard_spec.shape == (5, 64)  # no rounding to tiles
    for config in (row, col, block, height, width):
        assert config.buffer_type == ttnn.BufferType.L1 and config.is_sharded()
    grid_cores = block.shard_spec.grid.ranges
    assert len(grid_cores) == 1 and (grid_cores[0].end.x, grid_cores[0].end.y) == (1, 3)


# ---------------------------------------------------------------- checks the public ops cannot reach
def test_checks_the_public_ops_cannot_reach(ttnn, device):
    """The dtype table of the 0.81.1 docstrings (``dispatch``) or ``check_fits`` refuses these first; the check's
    own wording is still tt-metal's."""
    from tt_model.emulator.checks import compute, memory, selection
    x_rm = rm(ttnn, device, torch.randn(32, 64))
    x_u32 = dev(ttnn, device, torch.randint(0, 9, (32, 64)), ttnn.uint32)
    with pytest.raises(RuntimeError, match="does not support"):  # the dtype table's refusal
        ttnn.topk(x_rm, 4)
    with refused(TOPK_DEVICE, "The input must be in tiled format"):
        selection.topk(x_rm, 4, -1)
    with refused(SOFTMAX_DEVICE, "Inputs to softmax must be tilized"):
        compute.softmax(x_rm, -1)
    with refused(SOFTMAX_DEVICE, "Input tensor must be FLOAT32, BFLOAT16, or BFLOAT8_B, got: DataType::UINT32"):
        compute.softmax(x_u32, -1)
    with refused(LAYERNORM_DEVICE, "Input tensor must have TILE layout, got: Layout::ROW_MAJOR"):
        compute.rms_norm(x_rm, None, None, None)
    with refused(LAYERNORM_DEVICE, "Input tensor must be FLOAT32, BFLOAT16, or BFLOAT8_B, got: DataType::UINT32"):
        compute.rms_norm(x_u32, None, None, None)
    x = dev(ttnn, device, torch.randn(32, 256))
    with refused(LAYERNORM_DEVICE, "Residual tensor must have TILE layout, got: Layout::ROW_MAJOR"):
        compute.rms_norm(x, None, None, rm(ttnn, device, torch.randn(32, 256)))
    with refused(LAYERNORM_DEVICE, "Gamma tensor must be FLOAT32 or BFLOAT16, got: DataType::UINT32"):
        compute.rms_norm(x, rm(ttnn, device, torch.randint(0, 9, (8, 32)), ttnn.uint32), None, None)
    a, b = dev(ttnn, device, torch.randn(32, 64)), dev(ttnn, device, torch.randn(64, 32))
    with refused(MATMUL_DEVICE, "Unsupported input layout"):
        compute.matmul("linear", a, b, rm(ttnn, device, torch.randn(32)), False, False, None, None)
    t = dev(ttnn, device, torch.randn(64, 64))
    block = ttnn.create_sharded_memory_config([64, 64], ttnn.CoreGrid(y=2, x=2), ttnn.ShardStrategy.BLOCK)
    dram_block = ttnn.MemoryConfig(block.memory_layout, ttnn.BufferType.DRAM, block.shard_spec)
    with refused(I2S_DEVICE, "We don't support DRAM block sharding"):
        ttnn.to_memory_config(t, dram_block)
    with refused(TENSOR_LAYOUT, "MemoryConfig must have Shard Spec specified for sharded memory layout"):
        memory.shard_shape(ttnn.TILE_LAYOUT, ttnn.L1_HEIGHT_SHARDED_MEMORY_CONFIG)


# ---------------------------------------------------------------- SOURCES
def _registered_ops() -> set[str]:
    """Every op name an ``@checks(...)`` decorator in tt_model/emulator/checks/*.py registers (read off the
    sources, so a check module added later is covered too)."""
    import ast
    from pathlib import Path

    from tt_model.emulator import checks
    ops = set()
    for path in Path(checks.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "checks":
                        ops |= {arg.value for arg in deco.args}
    return ops


CHECKED_HERE = {"scatter", "topk", "reshape", "permute", "slice", "concat", "matmul", "linear", "rms_norm", "softmax",
                "embedding", "to_memory_config", "typecast"}


def test_sources_name_every_checked_op(ttnn):
    import importlib
    import pkgutil

    from tt_model.emulator import checks
    for module in pkgutil.iter_modules(checks.__path__):  # registration happens on import
        importlib.import_module(f"{checks.__name__}.{module.name}")
    registered = _registered_ops()
    assert CHECKED_HERE <= registered
    assert set(checks.SOURCES) == registered
    for op, sources in checks.SOURCES.items():
        assert sources and len(set(sources)) == len(sources), op
        assert all(isinstance(s, str) and s.startswith("ttnn/") for s in sources), (op, sources)
    for op in CHECKED_HERE:
        assert callable(getattr(ttnn, op)), op
    cited = {SCATTER, SCATTER_DEVICE, TOPK, TOPK_DEVICE, RESHAPE, RESHAPE_DEVICE, PERMUTE_DEVICE, SLICE, SLICE_DEVICE,
             CONCAT, CONCAT_DEVICE, MATMUL, MATMUL_DEVICE, MATMUL_UTILS, LAYERNORM_DEVICE, SOFTMAX, SOFTMAX_DEVICE,
             EMBEDDING, EMBEDDING_DEVICE, TO_MEMORY_CONFIG, I2S_DEVICE, S2I_DEVICE, TENSOR_LAYOUT, TYPECAST_DEVICE}
    assert {s for op in CHECKED_HERE for s in checks.SOURCES[op]} == cited  # the files these tests cite
    assert set(checks.SOURCES["matmul"]) == set(checks.SOURCES["linear"]) == {MATMUL, MATMUL_DEVICE, MATMUL_UTILS}
