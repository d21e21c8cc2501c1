"""Attention pieces: SDPA prefill (attention sinks, sliding window), SDPA decode, rotary embeddings, KV caches."""
from __future__ import annotations

import math

import torch

from . import executed
from .checks import attention as checked
from .dtypes import BufferType, DataType, Layout, ShardOrientation, TensorMemoryLayout
from .ops_common import as_float, make_output, per_device, reject, require_device, require_fp32_dest, store


def _attend(q, k, v, scale, mask, sink=None):
    """q [b, nh, sq, d], k/v [b, nkv, sk, d]; GQA by repeating kv heads; mask True = attend."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~mask, float("-inf"))
    if sink is not None:
        # A per-head sink logit joins the softmax denominator and is then dropped (GPT-OSS).
        sink_col = sink.reshape(1, -1, 1, 1).expand(scores.shape[0], -1, scores.shape[2], 1)
        probs = torch.softmax(torch.cat([scores, sink_col], dim=-1), dim=-1)[..., :-1]
    else:
        probs = torch.softmax(scores, dim=-1)
    return torch.nan_to_num(probs) @ v


def _window_mask(sq: int, sk: int, is_causal: bool, window: int | None, offset: int = 0) -> torch.Tensor:
    qi = torch.arange(sq).unsqueeze(1) + offset
    kj = torch.arange(sk).unsqueeze(0)
    mask = torch.ones(sq, sk, dtype=torch.bool)
    if is_causal:
        mask &= kj <= qi
        if window is not None:
            mask &= kj > qi - window
    elif window is not None:
        mask &= (kj - qi).abs() <= window // 2
    return mask


def scaled_dot_product_attention(input_tensor_q, input_tensor_k, input_tensor_v, *, attn_mask=None,
                                 is_causal=True, scale=None, sliding_window_size=None, memory_config=None,
                                 program_config=None, compute_kernel_config=None, attention_sink=None,
                                 cu_window_seqlens=None, windowed_q_token_offset=0,
                                 windowed_q_token_offset_tensor=None, output_concat_heads=False,
                                 attn_mask_block_map=None):
    require_device("scaled_dot_product_attention", input_tensor_q, input_tensor_k, input_tensor_v, attn_mask,
                   attention_sink)
    checked.sdpa(input_tensor_q, input_tensor_k, input_tensor_v, attn_mask, is_causal, sliding_window_size,
                 attention_sink)
    require_fp32_dest("transformer.scaled_dot_product_attention", compute_kernel_config)
    reject("transformer.scaled_dot_product_attention", cu_window_seqlens=(cu_window_seqlens, None),
           windowed_q_token_offset=(windowed_q_token_offset, 0),
           windowed_q_token_offset_tensor=(windowed_q_token_offset_tensor, None),
           attn_mask_block_map=(attn_mask_block_map, None))

    def fn(q, k, v, m, sink):
        q, k, v = as_float(q), as_float(k), as_float(v)
        sc = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
        mask = _window_mask(q.shape[-2], k.shape[-2], is_causal, sliding_window_size)
        mask = mask.expand(q.shape[0], q.shape[1], -1, -1)
        bias = as_float(m) if m is not None else 0.0
        out = _attend_bias(q, k, v, sc, mask, bias, sink)
        if output_concat_heads:
            out = out.transpose(1, 2).reshape(out.shape[0], 1, out.shape[2], -1)
        return out

    shards = per_device(fn, input_tensor_q, input_tensor_k, input_tensor_v, attn_mask, attention_sink)
    return make_output(input_tensor_q, shards, memory_config=memory_config, name="scaled_dot_product_attention",
                       inputs=(input_tensor_q, input_tensor_k, input_tensor_v),
                       flops=_sdpa_flops(input_tensor_q, input_tensor_k), program_config=program_config is not None,
                       fidelity=getattr(compute_kernel_config, "math_fidelity", None))


def _attend_bias(q, k, v, scale, mask, bias, sink):
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    scores = (q @ k.transpose(-1, -2)) * scale + bias
    scores = scores.masked_fill(~mask, float("-inf"))
    if sink is not None:
        s = as_float(sink).reshape(1, -1, 1, 1)[:, : q.shape[1]].expand(scores.shape[0], -1, scores.shape[2], 1)
        probs = torch.softmax(torch.cat([scores, s], dim=-1), dim=-1)[..., :-1]
    else:
        probs = torch.softmax(scores, dim=-1)
    return torch.nan_to_num(probs) @ v


def scaled_dot_product_attention_decode(input_tensor_q, input_tensor_k, input_tensor_v, *, is_causal=True,
                                        attn_mask=None, cur_pos=None, memory_config=None, cur_pos_tensor=None,
                                        scale=None, program_config=None, compute_kernel_config=None,
                                        sliding_window_size=None, share_cache=None, attention_sink=None):
    """q [1, b, nh, dh]; k/v cache [b, nkv, s, dh]; attends to positions <= cur_pos[b] (and in the window).
    attention_sink [padded nh, 32]: column 0 holds each head's sink logit divided by ``scale``, because the kernel
    scales the sink with the scores (tt-metal's gpt_oss stores ``decode_sinks /= scaling``)."""
    require_device("scaled_dot_product_attention_decode", input_tensor_q, input_tensor_k, input_tensor_v,
                   cur_pos_tensor, attention_sink)
    checked.sdpa_decode(input_tensor_q, input_tensor_k, input_tensor_v, attn_mask, is_causal, cur_pos,
                        cur_pos_tensor, attention_sink)
    require_fp32_dest("transformer.scaled_dot_product_attention_decode", compute_kernel_config)
    reject("transformer.scaled_dot_product_attention_decode", share_cache=(share_cache or None, None))

    def fn(q, k, v, pos_t, m, sink_t):
        q, k, v = as_float(q), as_float(k), as_float(v)
        b, s = k.shape[0], k.shape[2]
        positions = [int(p) for p in (pos_t.reshape(-1).tolist() if pos_t is not None else (cur_pos or []))]
        sc = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
        qb = q[0].unsqueeze(2)  # [b, nh, 1, dh]
        sink = as_float(sink_t)[: qb.shape[1], 0] * sc if sink_t is not None else None
        out = torch.zeros_like(qb)
        for i in range(b):
            if is_causal:
                if positions[i] < 0:
                    continue  # the device skips batch entries at position -1
                mask = _window_mask(1, s, True, sliding_window_size, offset=positions[i])
            else:
                mask = (as_float(m)[0, i] > -1e30).unsqueeze(-2) if m is not None else torch.ones(1, s, dtype=torch.bool)
            out[i] = _attend(qb[i:i + 1], k[i:i + 1], v[i:i + 1], sc, mask.expand(1, qb.shape[1], -1, -1), sink)[0]
        return out.squeeze(2).unsqueeze(0)

    shards = per_device(fn, input_tensor_q, input_tensor_k, input_tensor_v, cur_pos_tensor, attn_mask, attention_sink)
    return make_output(input_tensor_q, shards, memory_config=memory_config,
                       name="scaled_dot_product_attention_decode",
                       inputs=(input_tensor_q, input_tensor_k, input_tensor_v),
                       flops=4.0 * input_tensor_k.padded_shape[0] * input_tensor_q.padded_shape[-2]
                       * input_tensor_k.padded_shape[-2] * input_tensor_q.padded_shape[-1],
                       program_config=program_config is not None,
                       fidelity=getattr(compute_kernel_config, "math_fidelity", None))


def rotary_embedding_llama(input_tensor, cos_cache, sin_cache, trans_mat, is_decode_mode=False, *,
                           memory_config=None, compute_kernel_config=None):
    """x * cos + (x @ trans_mat) * sin, trans_mat being the 32x32 pair-rotation matrix (tt-metal convention).
    Decode mode: x [1, batch, heads, dh] height-sharded one user per core, cos/sin [1, batch, 1, dh] broadcast
    over the heads."""
    require_device("rotary_embedding_llama", input_tensor, cos_cache, sin_cache, trans_mat)
    require_fp32_dest("experimental.rotary_embedding_llama", compute_kernel_config)
    checked.rotary_embedding_llama(input_tensor, cos_cache, sin_cache, trans_mat, is_decode_mode, memory_config,
                                   getattr(compute_kernel_config, "fp32_dest_acc_en", False))

    def fn(x, c, s, t):
        x, t = as_float(x), as_float(t)
        d = x.shape[-1]
        rotated = (x.reshape(*x.shape[:-1], d // 32, 32) @ t[..., :32, :32].reshape(32, 32)).reshape(x.shape)
        return x * as_float(c) + rotated * as_float(s)

    shards = per_device(fn, input_tensor, cos_cache, sin_cache, trans_mat)
    return make_output(input_tensor, shards, memory_config=memory_config, name="rotary_embedding_llama",
                       inputs=(input_tensor, cos_cache, sin_cache))


def rotary_embedding_hf(input_tensor, cos_cache, sin_cache, is_decode_mode=False, *, memory_config=None,
                        compute_kernel_config=None):
    """HF rotate-half: x * cos + rotate_half(x) * sin."""
    require_device("rotary_embedding_hf", input_tensor, cos_cache, sin_cache)
    reject("experimental.rotary_embedding_hf", is_decode_mode=(is_decode_mode, False))
    require_fp32_dest("experimental.rotary_embedding_hf", compute_kernel_config)

    def fn(x, c, s):
        x = as_float(x)
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * as_float(c) + rotated * as_float(s)

    shards = per_device(fn, input_tensor, cos_cache, sin_cache)
    return make_output(input_tensor, shards, memory_config=memory_config, name="rotary_embedding_hf",
                       inputs=(input_tensor, cos_cache, sin_cache))


def _write_rows(cache, fn_per_device, name, inputs):
    require_device(name, cache, *inputs)
    if not cache._shards[0].is_meta:  # a shape-only cache has no rows to write
        _own_shards(cache)
        for i, shard in enumerate(cache._shards):
            fn_per_device(i, shard)
    # An in-place cache write moves the new rows (read, then written into the cache), not the whole cache;
    # rows held in L1 (paged_update_cache's sharded input) are read without touching DRAM.
    rows = inputs[0].nbytes_per_device()
    executed.emit(name, inputs, (cache,), dram_bytes=rows if inputs[0].memory_config().in_l1() else 2 * rows)
    return cache


def _own_shards(tensor) -> None:
    """Copy-on-write for in-place ops: a replicated tensor may hold one torch tensor for all devices
    (from_torch stores replicas once), but each device writes its own cache, so split them first."""
    seen: set[int] = set()
    for i, shard in enumerate(tensor._shards):
        if id(shard) in seen:
            tensor._shards[i] = shard.clone()
        seen.add(id(shard))


def _shard(t, i):
    return t._shards[i if t.num_devices > 1 else 0]


def _sdpa_flops(q, k) -> float:
    """QK^T and PV per device: 2 * 2 * b * heads * sq * sk * dh (tile-padded)."""
    b, heads, sq, dh = (list(q.padded_shape) + [1] * 4)[:4]
    return 4.0 * b * heads * sq * k.padded_shape[-2] * dh


def fill_cache(cache_tensor, input_tensor, batch_idx, *, update_idx=0):
    """cache[batch_idx, :, update_idx:update_idx + s, :] = input[0] (in place)."""
    require_device("fill_cache", cache_tensor, input_tensor)
    checked.fill_cache(cache_tensor, input_tensor, batch_idx, update_idx)
    def write(i, c):
        x = _shard(input_tensor, i)[0]
        c[batch_idx, :, update_idx:update_idx + x.shape[-2], :] = store(as_float(x), cache_tensor.dtype)
    return _write_rows(cache_tensor, write, "fill_cache", (input_tensor,))


def update_cache(cache, input, update_index, batch_offset=0, *, compute_kernel_config=None):
    """input [1, nkv, b_pad, dh]: cache[b, h, update_index, :] = input[0, h, batch_offset + b, :] (in place)."""
    require_device("update_cache", cache, input)
    checked.update_cache(cache, input, batch_offset)
    def write(i, c):
        x = as_float(_shard(input, i))[0]
        b = c.shape[0]
        rows = x[:, batch_offset:batch_offset + b, :].transpose(0, 1)  # [b, nkv, dh]
        c[:, :, update_index, :] = store(rows, cache.dtype)
    return _write_rows(cache, write, "update_cache", (input,))


def paged_update_cache(cache_tensor, input_tensor, *, update_idxs=[], update_idxs_tensor=None, share_cache=None,
                       page_table=None, batch_offset=0, compute_kernel_config=None, mesh_coords=None,
                       block_size=None, num_kv_heads=None, cache_position_modulo=None):
    """input [1, b, nkv, dh]: cache[b, :, pos[b], :] = input[0, b] (unpaged when page_table is None); a position
    of -1 skips that user. Keywords as bound in tt-metal's paged_cache_nanobind.cpp (0.81.1 generation)."""
    reject("experimental.paged_update_cache", page_table=(page_table, None), share_cache=(share_cache, None),
           batch_offset=(batch_offset, 0), mesh_coords=(mesh_coords, None), block_size=(block_size, None),
           num_kv_heads=(num_kv_heads, None), cache_position_modulo=(cache_position_modulo, None))
    require_device("paged_update_cache", cache_tensor, input_tensor, update_idxs_tensor)
    checked.paged_update_cache(cache_tensor, input_tensor, list(update_idxs), update_idxs_tensor, page_table,
                               batch_offset)

    def write(i, c):
        x = as_float(_shard(input_tensor, i))[0]
        pos = (_shard(update_idxs_tensor, i).reshape(-1).tolist() if update_idxs_tensor is not None
               else list(update_idxs))
        for b, p in enumerate(pos):
            if p >= 0:
                c[b, :, int(p), :] = store(x[b, : c.shape[1]], cache_tensor.dtype)
    return _write_rows(cache_tensor, write, "paged_update_cache", (input_tensor,))


def paged_fill_cache(cache_tensor, input_tensor, page_table, *, batch_idx_tensor=None, batch_idx=0,
                     mesh_coords=None, block_size=None, num_kv_heads=None):
    """cache [blocks, nkv, block_size, dh]; input [1, nkv, s, dh]; page_table [b, blocks_per_seq]: the
    sequence's block i goes to physical block page_table[batch_idx, i]. Keywords as bound in tt-metal's
    paged_cache_nanobind.cpp."""
    require_device("paged_fill_cache", cache_tensor, input_tensor, page_table)
    reject("experimental.paged_fill_cache", batch_idx_tensor=(batch_idx_tensor, None), mesh_coords=(mesh_coords, None),
           block_size=(block_size, None), num_kv_heads=(num_kv_heads, None))
    checked.paged_fill_cache(cache_tensor, input_tensor, page_table, batch_idx)
    def write(i, c):
        x = as_float(_shard(input_tensor, i))[0]
        table = _shard(page_table, i)
        bs = c.shape[2]
        for blk in range(math.ceil(x.shape[1] / bs)):
            phys = int(table[batch_idx, blk])
            part = x[:, blk * bs:(blk + 1) * bs, :]
            c[phys, :, : part.shape[1], :] = store(part, cache_tensor.dtype)
    return _write_rows(cache_tensor, write, "paged_fill_cache", (input_tensor, page_table))
