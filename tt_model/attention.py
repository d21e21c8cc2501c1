"""GPT-OSS attention: q/k/v/o with bias, GQA, learned sinks, sliding window, KV cache.

Tensor parallel over mesh columns: each column holds num_heads/cols q heads and num_kv_heads/cols kv heads
(column-split q/k/v, row-split o_proj), partial o_proj outputs all-reduced over cluster_axis=1, o bias after.
Scores are an explicit matmul/softmax: 0.81.1's scaled_dot_product_attention_decode has no attention_sink
keyword, and the sink is one extra softmax column (as in HF: concat, softmax, drop).
"""
from __future__ import annotations

import torch

from tt_model.mesh import TP_AXIS
from tt_model.rope import apply_rope

MASKED = -1e9  # finite: a row whose keys are all masked still has its sink column


class Attention:
    def __init__(self, ttnn, weights, reader, prefix, config, mesh, precision, layer, rope_mat):
        self.ttnn, self.config, self.mesh, self.layer = ttnn, config, mesh, layer
        self.device = weights.device
        self.heads = config.num_attention_heads // mesh.cols
        self.kv_heads = config.num_key_value_heads // mesh.cols
        self.head_dim = config.head_dim
        self.scale = config.head_dim ** -0.5
        self.sliding = config.is_sliding(layer)
        wdt = precision.dtype(ttnn, "attention_weights")
        act = ttnn.bfloat16
        p = f"{prefix}.self_attn"
        put = weights.put
        self.wq = put(reader.float(f"{p}.q_proj.weight").T, f"{p}.wq", wdt, cols=-1)
        self.wk = put(reader.float(f"{p}.k_proj.weight").T, f"{p}.wk", wdt, cols=-1)
        self.wv = put(reader.float(f"{p}.v_proj.weight").T, f"{p}.wv", wdt, cols=-1)
        self.bq = put(reader.float(f"{p}.q_proj.bias").reshape(1, 1, 1, -1), f"{p}.bq", act, cols=-1)
        self.bk = put(reader.float(f"{p}.k_proj.bias").reshape(1, 1, 1, -1), f"{p}.bk", act, cols=-1)
        self.bv = put(reader.float(f"{p}.v_proj.bias").reshape(1, 1, 1, -1), f"{p}.bv", act, cols=-1)
        self.wo = put(reader.float(f"{p}.o_proj.weight").T, f"{p}.wo", wdt, cols=-2)
        self.bo = put(reader.float(f"{p}.o_proj.bias").reshape(1, 1, 1, -1), f"{p}.bo", act)
        self.sinks = put(reader.float(f"{p}.sinks").reshape(1, -1, 1, 1), f"{p}.sinks", ttnn.float32, cols=1)
        self.rope_mat = rope_mat
        self._kv_rows = {}  # batch -> the sharded memory config of the decode step's new cache rows
        self.kernel = precision.kernel_config(ttnn)
        self.cache_k = self.cache_v = None

    # ---------------------------------------------------------------- helpers
    def _project(self, x, w, b):
        return self.ttnn.linear(x, w, bias=b, compute_kernel_config=self.kernel, dtype=self.ttnn.bfloat16)

    def _heads(self, x, batch, seq, heads):
        """[1, 1, batch*seq, heads*dh] -> [batch, heads, seq, dh]."""
        ttnn = self.ttnn
        return ttnn.permute(ttnn.reshape(x, (batch, seq, heads, self.head_dim)), (0, 2, 1, 3))

    def _attend(self, q, k, v, mask):
        """q [b, h, s, dh], k/v [b, kvh, t, dh], additive mask [b, 1, s, t] -> [b, h, s, dh]."""
        ttnn = self.ttnn
        groups = self.heads // self.kv_heads
        if groups > 1:
            k = ttnn.repeat_interleave(k, groups, dim=1)
            v = ttnn.repeat_interleave(v, groups, dim=1)
        scores = ttnn.matmul(q, k, transpose_b=True, compute_kernel_config=self.kernel, dtype=ttnn.float32)
        scores = ttnn.add(ttnn.mul(scores, self.scale), mask)
        b, h, s, t = scores.shape
        sink = ttnn.repeat(self.sinks, (b, 1, s, 1))
        probs = ttnn.softmax(ttnn.concat([scores, sink], dim=-1), dim=-1, compute_kernel_config=self.kernel)
        probs = ttnn.typecast(ttnn.slice(probs, (0, 0, 0, 0), (b, h, s, t)), ttnn.bfloat16)
        return ttnn.matmul(probs, v, compute_kernel_config=self.kernel)

    def _output(self, ctx, batch, seq):
        """[batch, heads, seq, dh] -> o_proj -> [1, 1, batch*seq, H], all-reduced over columns."""
        ttnn = self.ttnn
        ctx = ttnn.reshape(ttnn.permute(ctx, (0, 2, 1, 3)), (1, 1, batch * seq, self.heads * self.head_dim))
        out = ttnn.linear(ctx, self.wo, compute_kernel_config=self.kernel, dtype=ttnn.bfloat16)
        if self.mesh.cols > 1:
            # Topology choice unverified without hardware: tt-metal uses Ring on T3K/TG rows of 8.
            out = ttnn.all_reduce(out, cluster_axis=TP_AXIS, topology=ttnn.Topology.Ring)
        return ttnn.add(out, self.bo)

    def allocate_cache(self, batch: int, length: int):
        ttnn = self.ttnn
        shape = (batch, self.kv_heads, length, self.head_dim)
        self.cache_k = ttnn.zeros(shape, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self.device)
        self.cache_v = ttnn.zeros(shape, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self.device)

    def _kv_rows_memory(self, batch):
        """One user per core, as the real paged_update_cache requires: a shard is one user's kv heads, padded
        to a tile, by head_dim (the layout tt-metal's gpt_oss builds in kv_cache.get_kv_memory_config)."""
        config = self._kv_rows.get(batch)
        if config is None:
            ttnn = self.ttnn
            grid = ttnn.num_cores_to_corerangeset(batch, self.device.compute_with_storage_grid_size(), row_wise=True)
            height = -(-self.kv_heads // ttnn.TILE_SIZE) * ttnn.TILE_SIZE
            config = self._kv_rows[batch] = ttnn.create_sharded_memory_config(
                (height, self.head_dim), grid, ttnn.ShardStrategy.HEIGHT, ttnn.ShardOrientation.ROW_MAJOR,
                use_height_and_width_as_shard_shape=True)
        return config

    # ---------------------------------------------------------------- forward
    def prefill(self, x, batch, seq, cos, sin, mask):
        """x [1, 1, batch*seq, H]; cos/sin [batch, 1, seq, dh]; mask [batch, 1, seq, seq]. Fills the cache."""
        ttnn = self.ttnn
        q = apply_rope(ttnn, self._heads(self._project(x, self.wq, self.bq), batch, seq, self.heads), cos, sin, self.rope_mat)
        k = apply_rope(ttnn, self._heads(self._project(x, self.wk, self.bk), batch, seq, self.kv_heads), cos, sin, self.rope_mat)
        v = self._heads(self._project(x, self.wv, self.bv), batch, seq, self.kv_heads)
        if self.cache_k is not None:
            for b in range(batch):
                end = (b + 1, self.kv_heads, seq, self.head_dim)
                ttnn.fill_cache(self.cache_k, ttnn.slice(k, (b, 0, 0, 0), end), b)
                ttnn.fill_cache(self.cache_v, ttnn.slice(v, (b, 0, 0, 0), end), b)
        return self._output(self._attend(q, k, v, mask), batch, seq)

    def decode(self, x, batch, slot, cos, sin, mask):
        """x [1, 1, batch, H]; writes every user's cache at the slot held by the device tensor ``slot`` [batch]
        (a device index, so a captured trace writes the next slot when replayed); cos/sin [batch, 1, 1, dh];
        mask [batch, 1, 1, cache_len]."""
        ttnn = self.ttnn
        q = apply_rope(ttnn, self._heads(self._project(x, self.wq, self.bq), batch, 1, self.heads), cos, sin, self.rope_mat)
        k = apply_rope(ttnn, self._heads(self._project(x, self.wk, self.bk), batch, 1, self.kv_heads), cos, sin, self.rope_mat)
        v = self._heads(self._project(x, self.wv, self.bv), batch, 1, self.kv_heads)
        # paged_update_cache takes the new rows as [1, batch, kv_heads, dh], height-sharded in L1
        rows = self._kv_rows_memory(batch)
        k_rows = ttnn.to_memory_config(ttnn.permute(k, (2, 0, 1, 3)), rows)
        v_rows = ttnn.to_memory_config(ttnn.permute(v, (2, 0, 1, 3)), rows)
        ttnn.experimental.paged_update_cache(self.cache_k, k_rows, update_idxs_tensor=slot)
        ttnn.experimental.paged_update_cache(self.cache_v, v_rows, update_idxs_tensor=slot)
        return self._output(self._attend(q, self.cache_k, self.cache_v, mask), batch, 1)


def prefill_mask(valid: torch.Tensor, sliding_window: int | None) -> torch.Tensor:
    """valid [B, S] bool (left padding False) -> additive [B, 1, S, S]: causal, window, padded keys."""
    s = valid.shape[1]
    q = torch.arange(s)[:, None]
    k = torch.arange(s)[None, :]
    allowed = (k <= q)
    if sliding_window is not None:
        allowed = allowed & (q - k < sliding_window)
    allowed = allowed[None] & valid[:, None, :]
    return torch.where(allowed, 0.0, MASKED)[:, None]


def decode_mask(valid: torch.Tensor, slot: int, length: int, sliding_window: int | None) -> torch.Tensor:
    """valid [B, slots] for slots 0..slot (inclusive) -> additive [B, 1, 1, length]."""
    allowed = torch.zeros(valid.shape[0], length, dtype=torch.bool)
    allowed[:, : slot + 1] = valid[:, : slot + 1]
    if sliding_window is not None:
        # HF's window counts positions, and padded slots are masked anyway, so slots work the same.
        allowed[:, : max(0, slot + 1 - sliding_window)] = False
    return torch.where(allowed, 0.0, MASKED)[:, None, None, :]
