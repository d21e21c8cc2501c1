"""KV caches, SDPA (prefill and decode) and rotary_embedding_llama.

Lines (``file:line``) are those a 0.81.1 TT_FATAL prints: read off the release's ``_ttnncpp.so`` (each call
site's file, line, condition and message); the stored tt-metal sources gave the branch each check sits in.
"""
from __future__ import annotations

import math

from ..dtypes import TILE_SIZE, BufferType, DataType, Layout, ShardOrientation, TensorMemoryLayout
from . import OPS, checks, dtype_name, require

KV_CACHE = f"{OPS}/kv_cache/device/update_cache_device_operation.cpp"
PAGED_UPDATE = f"{OPS}/experimental/paged_cache/device/update_cache/paged_update_cache_device_operation.cpp"
PAGED_FILL = f"{OPS}/experimental/paged_cache/device/fill_cache/paged_fill_cache_device_operation.cpp"
SDPA = f"{OPS}/transformer/sdpa/device/sdpa_device_operation.cpp"
SDPA_DECODE = f"{OPS}/transformer/sdpa_decode/device/sdpa_decode_device_operation.cpp"
ROPE = (f"{OPS}/experimental/transformer/rotary_embedding_llama/device/"
        "rotary_embedding_llama_device_operation.cpp")

_CACHE_DTYPES = (DataType.FLOAT32, DataType.BFLOAT16, DataType.BFLOAT8_B)
_SDPA_DTYPES = (DataType.BFLOAT16, DataType.BFLOAT8_B, DataType.BFLOAT4_B)
WORKER_CORES = 64  # the 8x8 compute grid of a Wormhole chip



def _layout(mem) -> str:
    return f"TensorMemoryLayout::{mem.memory_layout.name}"


def _in_dram(t) -> bool:
    return t.memory_config().buffer_type == BufferType.DRAM


def _kv_common(cache, x) -> None:
    require(x.layout == Layout.TILE and cache.layout == Layout.TILE, f"{KV_CACHE}:33",
            "Inputs to update_cache must be tilized")
    require(x.dtype in _CACHE_DTYPES, f"{KV_CACHE}:38", f"Input tensor dtype must be FLOAT32, BFLOAT16, or BFLOAT8_B "
                                                         f"but got {dtype_name(x.dtype)}")
    require(cache.dtype in _CACHE_DTYPES, f"{KV_CACHE}:43", f"Cache tensor dtype must be FLOAT32, BFLOAT16, or "
                                                             f"BFLOAT8_B but got {dtype_name(cache.dtype)}")
    xp, cp = x.padded_shape, cache.padded_shape
    require(xp[-1] == cp[-1], f"{KV_CACHE}:49", f"Input tensor width ({xp[-1]}) must equal cache tensor width "
                                                 f"({cp[-1]})")
    require(xp[0] == 1, f"{KV_CACHE}:53", f"Input tensor batch size must be 1 but got {xp[0]}")
    require(xp[1] == cp[1], f"{KV_CACHE}:58", f"Input tensor height ({xp[1]}) must equal cache tensor height "
                                               f"({cp[1]})")
    require(cache.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{KV_CACHE}:69",
            "Cache tensor memory layout must be INTERLEAVED, ND_SHARDED, or HEIGHT_SHARDED (created from ND shard "
            f"spec) but got {_layout(cache.memory_config())}")


@checks("fill_cache", sources=(KV_CACHE,))
def fill_cache(cache, x, batch_idx: int, update_idx: int) -> None:
    _kv_common(cache, x)
    require(x.dtype == cache.dtype, f"{KV_CACHE}:72", "Input and cache tensors must have same dtype!")
    if x.is_sharded():
        require(x.memory_config().memory_layout != TensorMemoryLayout.WIDTH_SHARDED, f"{KV_CACHE}:78",
                f"Input tensor memory layout must not be WIDTH_SHARDED but got {_layout(x.memory_config())}")
    cp, xp = cache.padded_shape, x.padded_shape
    require(batch_idx < cp[0], f"{KV_CACHE}:94", f"Batch index ({batch_idx}) must be less than cache tensor batch "
                                                  f"size ({cp[0]})")
    require(update_idx % TILE_SIZE == 0, f"{KV_CACHE}:99", f"Fill update_idx ({update_idx}) must be a multiple of "
                                                            f"TILE_HEIGHT ({TILE_SIZE})")
    require(update_idx <= cp[-2] and xp[-2] <= cp[-2] - update_idx, f"{KV_CACHE}:106",
            f"Fill update_idx ({update_idx}) + input tensor height ({xp[-2]}) must be <= cache tensor height "
            f"({cp[-2]})")


@checks("update_cache", sources=(KV_CACHE,))
def update_cache(cache, x, batch_offset: int) -> None:
    _kv_common(cache, x)
    if not x.is_sharded():
        require(x.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{KV_CACHE}:128",
                f"Input tensor memory layout must be INTERLEAVED but got {_layout(x.memory_config())}")
    cp, xp = cache.padded_shape, x.padded_shape
    require(cp[0] <= xp[-2], f"{KV_CACHE}:134", f"Cache tensor batch size ({cp[0]}) must be <= input tensor height "
                                                 f"({xp[-2]})")
    if cp[0] < TILE_SIZE:
        require(batch_offset + cp[0] <= TILE_SIZE, f"{KV_CACHE}:148",
                f"Batch offset ({batch_offset}) + cache tensor batch size ({cp[0]}) must be <= 32")
    else:
        require(batch_offset == 0, f"{KV_CACHE}:150", "Batch offset must be 0 when cache tensor batch size >= 32")


@checks("experimental.paged_update_cache", sources=(PAGED_UPDATE,))
def paged_update_cache(cache, x, update_idxs, idxs_tensor, page_table, batch_offset: int) -> None:
    """The unpaged path (page_table None) tt_model uses, and the paged path's page-table checks."""
    require(x.layout == Layout.TILE, f"{PAGED_UPDATE}:42", "Input tensor in non-fused update_cache must be tilized")
    require(cache.layout == Layout.TILE, f"{PAGED_UPDATE}:43", "Cache tensor in update_cache must be tilized")
    require(cache.dtype in (*_CACHE_DTYPES, DataType.BFLOAT4_B), f"{PAGED_UPDATE}:48",
            f"Data type of cache tensor must be FLOAT32, BFLOAT16, BFLOAT8_B, or BFLOAT4_B and is {dtype_name(cache.dtype)}")
    xp, cp = x.padded_shape, cache.padded_shape
    require(xp[0] == 1, f"{PAGED_UPDATE}:51", "Dim 0 of input tensor must be 1")
    require(cache.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{PAGED_UPDATE}:54",
            "Only interleaved cache is supported")
    if page_table is None:
        require(xp[-1] == cp[-1], f"{PAGED_UPDATE}:126", f"Last dim of input tensor ({xp[-1]}) must match last dim "
                                                          f"of cache tensor ({cp[-1]}) in non-paged mode")
        require(xp[1] == cp[0], f"{PAGED_UPDATE}:145", "Expect batch in input tensor match the batch in cache tensor")
    else:
        require(idxs_tensor is not None, f"{PAGED_UPDATE}:149", "Paged cache requires update_idxs tensor")
        require(page_table.dtype == DataType.INT32, f"{PAGED_UPDATE}:156", "Expect page table to have datatype INT32")
        require(page_table.layout == Layout.ROW_MAJOR, f"{PAGED_UPDATE}:159",
                "Expect page table to have memory layout in ROW MAJOR")
        require(page_table.padded_shape[0] == xp[1], f"{PAGED_UPDATE}:172",
                "Batch size between page_table and input_tensor must match")
    require((idxs_tensor is not None) != bool(update_idxs), f"{PAGED_UPDATE}:207",
            "Only an update tensor or an update vector can be provided. Not both or neither.")
    if idxs_tensor is not None:
        require(idxs_tensor.dtype == DataType.INT32, f"{PAGED_UPDATE}:213", "Expected update_idxs to have datatype "
                                                                            "INT32")
        require(idxs_tensor.layout == Layout.ROW_MAJOR, f"{PAGED_UPDATE}:216",
                "Expected update_idxs to have memory layout in ROW MAJOR")
        mem = idxs_tensor.memory_config()
        if mem.is_sharded():  # one position per core, next to the user's rows (0.81.1 allows it)
            require(mem.memory_layout == TensorMemoryLayout.HEIGHT_SHARDED, f"{PAGED_UPDATE}:221",
                    "Expect update_idxs to be HEIGHT SHARDED if sharded")
            require(mem.buffer_type == BufferType.L1, f"{PAGED_UPDATE}:224",
                    "Expect update_idxs to have buffer type L1 if sharded")
            count = idxs_tensor.shape[1] if idxs_tensor.shape.rank > 1 else idxs_tensor.shape[0]
            require(x.shape[1] == count, f"{PAGED_UPDATE}:246",
                    f"Number of update_idxs ({count}) should match batch size ({x.shape[1]}) if sharded")
            cores = mem.shard_spec.num_cores() if mem.shard_spec is not None else 0
            require(cores == idxs_tensor.padded_shape[0], f"{PAGED_UPDATE}:251",
                    f"Number of cores sharded on L1 ({cores}) should match dimension of update_idxs at 0 "
                    f"({idxs_tensor.padded_shape[0]})")
        else:
            require(mem.memory_layout == TensorMemoryLayout.INTERLEAVED, f"{PAGED_UPDATE}:230",
                    "Expect update_idxs to be DRAM INTERLEAVED")
            require(mem.buffer_type == BufferType.DRAM, f"{PAGED_UPDATE}:233",
                    "Expect update_idxs to have buffer type DRAM")
            count = idxs_tensor.padded_shape[0]
            require(xp[1] == count, f"{PAGED_UPDATE}:257",
                    f"Number of update_idxs ({count}) should match batch size ({xp[1]})")
    else:
        require(xp[1] == len(update_idxs), f"{PAGED_UPDATE}:257",
                f"Number of update_idxs ({len(update_idxs)}) should match batch size ({xp[1]})")
    mem = x.memory_config()
    require(x.is_sharded(), f"{PAGED_UPDATE}:261", "Expect input_tensor to be sharded")
    require(mem.memory_layout != TensorMemoryLayout.WIDTH_SHARDED, f"{PAGED_UPDATE}:265",
            "Expect input_tensor to NOT have memory layout WIDTH SHARDED")
    spec = mem.shard_spec
    require(spec.shape[1] == xp[-1], f"{PAGED_UPDATE}:271",
            f"Expect input_tensor to have shard width ({spec.shape[1]}) equal to the last dimension of the input "
            f"tensor padded shape ({xp[-1]})")
    height = math.prod(xp[:-1])
    require(height % spec.shape[0] == 0, f"{PAGED_UPDATE}:279",
            f"Input tensor's height must be divisible by the number of shards along the height dimension. "
            f"Got height = {height}, number of shards = {spec.shape[0]}.")
    require(spec.orientation == ShardOrientation.ROW_MAJOR, f"{PAGED_UPDATE}:282", "Only ROW_MAJOR sharding is "
                                                                                    "supported")
    users = xp[1]
    require(spec.num_cores() == users, f"{PAGED_UPDATE}:296",
            f"Input tensor shard grid must have num_cores ({spec.num_cores()}) equal to the number of users / batch "
            f"({users}). The kernel dispatches one user per core; use a {{num_users, 1}} grid (or any CoreRangeSet "
            "whose num_cores == num_users).")
    require(x.dtype in (DataType.FLOAT32, DataType.BFLOAT16), f"{PAGED_UPDATE}:303",
            "Data type of input tensor for paged_update_cache must be FLOAT32 or BFLOAT16; decode update repacks into "
            "the cache dtype and should not receive low-precision packed input")
    require(batch_offset == 0, f"{PAGED_UPDATE}:305", "batch_offset must be 0")


@checks("experimental.paged_fill_cache", sources=(PAGED_FILL,))
def paged_fill_cache(cache, x, page_table, batch_idx: int) -> None:
    require(cache.dtype in (*_CACHE_DTYPES, DataType.BFLOAT4_B), f"{PAGED_FILL}:39",
            "Data type of cache tensor for paged_fill_cache must be FLOAT32, BFLOAT16, BFLOAT8_B, or BFLOAT4_B and "
            f"is {dtype_name(cache.dtype)}")
    require(x.dtype == cache.dtype, f"{PAGED_FILL}:45",
            f"Input tensor dtype ({dtype_name(x.dtype)}) must match cache tensor dtype ({dtype_name(cache.dtype)}) for paged_fill_cache; cast "
            "prefill K/V to the cache dtype before filling the paged cache.")
    require(x.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{PAGED_FILL}:49",
            "Expect input_tensor to have memory layout INTERLEAVED")
    require(page_table.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{PAGED_FILL}:52",
            "Expect page_table_tensor to have memory layout INTERLEAVED")
    require(page_table.dtype == DataType.INT32, f"{PAGED_FILL}:53", "Expect page_table_tensor to have datatype INT32")
    require(batch_idx < page_table.shape[0], f"{PAGED_FILL}:62", "Batch idx must be within the page_table batch size")
    blocks, heads, block, head_dim = cache.padded_shape
    in_heads = x.padded_shape[1]
    require(in_heads * block * head_dim == heads * block * head_dim, f"{PAGED_FILL}:95",
            f"paged_fill_cache geometry mismatch: cache has {heads * block * head_dim} elems/block (kv_heads={heads}, "
            f"block_size={block}, head_dim={head_dim}) but input view is {in_heads * block * head_dim} "
            f"(kv_heads={in_heads}, block_size={block}, head_dim={head_dim}).")
    require(x.padded_shape[-1] % TILE_SIZE == 0, f"{PAGED_FILL}:100", f"input_tensor last dim ({x.padded_shape[-1]}) "
                                                                        f"must be a multiple of TILE_WIDTH ({TILE_SIZE})")
    require(block % TILE_SIZE == 0, f"{PAGED_FILL}:105", f"effective block_size ({block}) must be a multiple of "
                                                         f"TILE_HEIGHT ({TILE_SIZE})")
    seq = x.shape[2]
    require(seq <= block * page_table.shape[1], f"{PAGED_FILL}:129",
            f"Input seq_len ({seq}) must fit in max_num_blocks_per_seq ({page_table.shape[1]}) * block_size ({block})")


@checks("transformer.scaled_dot_product_attention", sources=(SDPA,))
def sdpa(q, k, v, attn_mask, is_causal: bool, sliding_window_size, attention_sink) -> None:
    for t in (q, k, v):
        require(t.layout == Layout.TILE, f"{SDPA}:44", "Inputs to SDPA must be tilized")
        require(t.dtype in _SDPA_DTYPES, f"{SDPA}:49", f"Data type of input tensor must be BFLOAT16, BFLOAT8_B, or "
                                                       f"BFLOAT4_B and is {dtype_name(t.dtype)}")
        require(not t.is_sharded(), f"{SDPA}:50", "Operands to SDPA need to be DRAM/L1 interleaved")
        require(t.shape[3] % TILE_SIZE == 0, f"{SDPA}:58", "Padding is not supported on the head_dim dimension")
    b, nqh, sq, dh = q.shape
    nkv, sk = k.shape[1], k.shape[2]
    if is_causal:
        require(sq == sk, f"{SDPA}:76", f"Causal SDPA requires Q and K to have the same sequence length. Got Q: {sq}, "
                                        f"K: {sk}")
    require(k.shape[0] == b and v.shape[0] == b, f"{SDPA}:96", f"K and V batch must match. Got K: {k.shape[0]}, "
                                                               f"V: {v.shape[0]}")
    require(v.shape[1] == nkv, f"{SDPA}:97", f"K and V num_heads must match. Got K: {nkv}, V: {v.shape[1]}")
    require(v.shape[2] == sk, f"{SDPA}:98", f"K and V sequence length must match. Got K: {sk}, V: {v.shape[2]}")
    require(k.shape[3] == dh and v.shape[3] == dh, f"{SDPA}:103", f"K and V hidden dim must match. Got K: "
                                                                  f"{k.shape[3]}, V: {v.shape[3]}")
    require(nkv > 0 and nqh >= nkv and nqh % nkv == 0, f"{SDPA}:110",
            "Q num_heads must be >= K num_heads and divisible by K num_heads, and K num_heads must be greater than 0. "
            f"Got Q: {nqh}, K: {nkv}")
    require(not (is_causal and attn_mask is not None), f"{SDPA}:134",
            f"is_causal and attn_mask cannot both be present. Got is_causal: {str(is_causal).lower()}, attn_mask: true")
    require(not ((sliding_window_size or 0) > 0 and attn_mask is not None), f"{SDPA}:146",
            "sliding_window_size and attn_mask cannot both be present; bake the sliding-window mask into attn_mask. "
            f"Got sliding_window_size: {sliding_window_size}, attn_mask: true")
    if attn_mask is not None:
        require(attn_mask.layout == Layout.TILE, f"{SDPA}:157", "When mask is provided to SDPA, it must be tilized")
        require(attn_mask.dtype in _SDPA_DTYPES, f"{SDPA}:161",
                "When mask is provided to SDPA, it must be in BF16, BFP8, or BFP4 dataformat")
        require(_in_dram(attn_mask), f"{SDPA}:165", "When mask is provided to SDPA, it must be in DRAM")
        m = attn_mask.shape
        require(m[0] in (1, b), f"{SDPA}:174", "Mask batch dim must either be 1 (to be broadcasted across all batches) "
                                               "or must match Q batch dimension")
        require(m[1] in (1, nqh), f"{SDPA}:177", "Mask num_heads must either be 1 (to be broadcasted across all heads) "
                                                 "or must match Q heads dimension")
        require(m[2] == sq, f"{SDPA}:178", "Mask sequence length must match Q sequence length")
        require(m[3] == sk, f"{SDPA}:179", "Mask sequence length must match K sequence length")
    if attention_sink is not None:
        s = attention_sink
        require(s.layout == Layout.TILE, f"{SDPA}:434", "Attention sink must be tilized")
        require(s.dtype in _SDPA_DTYPES, f"{SDPA}:438", "Attention sink must be in BF16, BFP8, or BFP4 dataformat")
        require(_in_dram(s), f"{SDPA}:441", "Attention sink must be in DRAM")
        shape = list(s.shape)
        require(shape[0] == 1, f"{SDPA}:448", f"Attention sink batch dimension must be 1. Got {shape[0]}")
        require(shape[1] == nqh, f"{SDPA}:453", f"Attention sink num_heads must match Q num_heads. Got sink: "
                                                f"{shape[1]}, Q: {nqh}")
        require(shape[2] == 1, f"{SDPA}:454", f"Attention sink sequence dimension must be 1. Got {shape[2]}")
        require(shape[3] == 1, f"{SDPA}:455", f"Attention sink hidden dimension must be 1. Got {shape[3]}")


@checks("transformer.scaled_dot_product_attention_decode", sources=(SDPA_DECODE,))
def sdpa_decode(q, k, v, attn_mask, is_causal: bool, cur_pos, cur_pos_tensor, attention_sink) -> None:
    for i, t in enumerate((q, k, v)):
        require(t.dtype in _SDPA_DTYPES, f"{SDPA_DECODE}:46", f"Unsupported data type {dtype_name(t.dtype)}.")
        if i:
            require(t.layout == Layout.TILE, f"{SDPA_DECODE}:50", "Inputs to SDPA must be tilized except for Q")
            require(_in_dram(t), f"{SDPA_DECODE}:174", f"Input tensor {i} buffer type must be DRAM but got "
                                                       f"BufferType::{t.memory_config().buffer_type.name}")
    if q.is_sharded():
        require(q.memory_config().memory_layout == TensorMemoryLayout.HEIGHT_SHARDED, f"{SDPA_DECODE}:144",
                f"Q tensor memory layout must be HEIGHT_SHARDED when sharded but got {_layout(q.memory_config())}")
    else:
        require(_in_dram(q), f"{SDPA_DECODE}:149", f"Q tensor buffer type must be DRAM when not sharded but got "
                                                   f"BufferType::{q.memory_config().buffer_type.name}")
    if is_causal:
        require(attn_mask is None, f"{SDPA_DECODE}:226", "attn_mask must not be provided when is_causal=True. Pass "
                                                         "is_causal=False to use an explicit mask.")
    b = q.shape[1]
    require(k.shape[0] == b, f"{SDPA_DECODE}:483", f"K tensor batch size ({k.shape[0]}) must equal B ({b})")
    require(v.shape[0] == b, f"{SDPA_DECODE}:484", f"V tensor batch size ({v.shape[0]}) must equal B ({b})")
    require(q.shape[0] == 1, f"{SDPA_DECODE}:489", f"Q tensor batch size must be 1 for decode mode but got "
                                                   f"{q.shape[0]}")
    require(k.shape[-2] == v.shape[-2], f"{SDPA_DECODE}:496", f"K and V tensors must have the same sequence length. "
                                                              f"K: {k.shape[-2]}, V: {v.shape[-2]}")
    d = q.shape[-1]
    require(k.shape[-1] == d, f"{SDPA_DECODE}:516", f"K tensor hidden dimension ({k.shape[-1]}) must equal Q tensor "
                                                    f"hidden dimension ({d})")
    require(v.shape[-1] == d, f"{SDPA_DECODE}:523", f"V tensor hidden dimension ({v.shape[-1]}) must equal Q tensor "
                                                    f"hidden dimension ({d})")
    if cur_pos_tensor is not None:
        require(cur_pos_tensor.padded_shape[-1] >= b, f"{SDPA_DECODE}:531",
                f"cur_pos tensor must have at least one position per batch ({b}), got shape "
                f"{list(cur_pos_tensor.padded_shape)}")
    for p in cur_pos or ():
        require(p < k.shape[-2], f"{SDPA_DECODE}:535", "cur_pos must be <= K sequence dim")
    require(k.shape[1] == v.shape[1], f"{SDPA_DECODE}:544", f"Flash decode expects K and V to have same number of "
                                                            f"heads, but got {k.shape[1]} and {v.shape[1]}")
    if k.shape[1] > 1 or q.shape[2] != k.shape[1]:  # grouped-query attention
        require(q.dtype == DataType.BFLOAT16, f"{SDPA_DECODE}:551", f"GQA expects BFLOAT16 input tensor, but got "
                                                                    f"{dtype_name(q.dtype)}")
        require(q.shape[2] % k.shape[1] == 0, f"{SDPA_DECODE}:556",
                f"GQA expects Q to have a multiple of K heads, but got {q.shape[2]} and {k.shape[1]}")
    if attention_sink is not None:
        s = attention_sink
        shape = list(s.padded_shape)
        require(len(shape) == 2, f"{SDPA_DECODE}:564", "Attention sink must have 2 dimensions")
        require(shape[0] == q.padded_shape[2], f"{SDPA_DECODE}:568",
                f"Attention sink must have the same padded num heads as Q but got {shape[0]}")
        require(shape[1] == TILE_SIZE, f"{SDPA_DECODE}:572", f"Attention sink must be a single tile wide, but got "
                                                             f"{shape[1]}")
        require(s.dtype == DataType.BFLOAT16, f"{SDPA_DECODE}:576", f"Attention sink must by a BF16 tensor, but got "
                                                                    f"{dtype_name(s.dtype)}")
        require(s.layout == Layout.TILE, f"{SDPA_DECODE}:580", f"Attention sink must be in TILE layout, but got "
                                                               f"Layout::{s.layout.name}")
        require(_in_dram(s), f"{SDPA_DECODE}:584", f"Attention sink must be in DRAM memory, but got "
                                                   f"BufferType::{s.memory_config().buffer_type.name}")


@checks("experimental.rotary_embedding_llama", sources=(ROPE,))
def rotary_embedding_llama(x, cos, sin, trans_mat, is_decode_mode: bool, memory_config, fp32_dest: bool) -> None:
    for what, t in (("input tensor", x), ("cos tensor", cos), ("sin tensor", sin),
                    ("transformation matrix", trans_mat)):
        require(t.layout == Layout.TILE, f"{ROPE}:46", f"{what} to rotary embedding must be tilized")
    head_dim = x.padded_shape[-1]
    require(head_dim <= 128 or not fp32_dest, f"{ROPE}:70", "If head_dim is > 128, fp32_dest_acc_en must be False")
    require(head_dim <= 256, f"{ROPE}:71", "Head dim must be less than 256")
    require(x.dtype == cos.dtype == sin.dtype == trans_mat.dtype == DataType.BFLOAT16, f"{ROPE}:76",
            "All input tensors must have dtype = bfloat16")
    out_layout = (memory_config or x.memory_config()).memory_layout
    require(x.memory_config().memory_layout == out_layout, f"{ROPE}:79",
            "Input tensor and output tensor must have same memory layout")
    require(tuple(cos.shape) == tuple(sin.shape), f"{ROPE}:82", "Cos and Sin dims must match")
    height = TensorMemoryLayout.HEIGHT_SHARDED
    if is_decode_mode:  # x [1, batch, heads, head_dim], one user per core
        require(head_dim % TILE_SIZE == 0, f"{ROPE}:85", "Head dim must be a multiple of TILE_WIDTH in decode mode")
        require(x.shape[0] == 1, f"{ROPE}:91", "rotary_embedding_llama currently only supports sharded inputs in "
                                               "decode mode, and therefore, seq_len (in dim 0) must be 1.")
        for what, t, line in (("Sharded inputs for RoPE must be", x, 95), ("cos tensor for RoPE must be", cos, 98),
                              ("sin tensor for RoPE must be", sin, 101),
                              ("transformation matrix for RoPE must be", trans_mat, 104)):
            require(t.memory_config().memory_layout == height, f"{ROPE}:{line}", f"{what} HEIGHT_SHARDED.")
        batch = x.shape[1]
        require(batch <= WORKER_CORES, f"{ROPE}:112", "In decode mode, RoPE is parallelized over batch dimension, and "
                                                      "therefore, batch size must be less than or equal to the "
                                                      "number of cores")
        require(batch == cos.shape[1], f"{ROPE}:115", "Cos and Sin must have the same batch size as the input")
        require(cos.memory_config().shard_spec.shape[0] == TILE_SIZE, f"{ROPE}:119",
                "In decode mode, RoPE only supports n_heads (shard_shape[0]) less than equal to TILE_HEIGHT")
        require(trans_mat.shape[0] == 1 and trans_mat.shape[1] == 1, f"{ROPE}:124",
                "Transformation matrix must have 1st & 2nd dim equal to 1")
        shard = trans_mat.memory_config().shard_spec.shape
        require(shard[0] == TILE_SIZE, f"{ROPE}:127", "Transformation matrix must have 3rd dim equal to TILE_HEIGHT")
        require(shard[1] == TILE_SIZE, f"{ROPE}:130", "Transformation matrix must have 4th dim equal to TILE_WIDTH")
        return
    require(x.memory_config().memory_layout == TensorMemoryLayout.INTERLEAVED, f"{ROPE}:134",
            "Input tensor must be interleaved in prefill mode")
    require(cos.is_sharded() == sin.is_sharded(), f"{ROPE}:141",
            "Cos and sin must both be HEIGHT_SHARDED or both be INTERLEAVED for prefill RoPE")
    require(cos.shape[0] == 1 and cos.shape[-1] == x.shape[-1], f"{ROPE}:150",
            f"Cos dims must match input dims: cos.shape = {list(cos.shape)}, head_dim = {x.shape[-1]}")
    require(cos.shape[1] in (x.shape[1], 1), f"{ROPE}:157", f"Num heads in cos/sin must match input tensor num heads "
                                                            f"or be 1. Expected {x.shape[1]}, got {cos.shape[1]}")
    require(trans_mat.shape[0] == 1 and trans_mat.shape[1] == 1, f"{ROPE}:192",
            "Transformation matrix must have 1st & 2nd dim equal to 1")
    require(trans_mat.shape[-1] == TILE_SIZE, f"{ROPE}:194", "Transformation matrix must have 4th dim equal to "
                                                             "TILE_WIDTH")
    require(trans_mat.shape[-2] == TILE_SIZE, f"{ROPE}:207", "Transformation matrix must have 3rd dim equal to "
                                                             "TILE_HEIGHT")
