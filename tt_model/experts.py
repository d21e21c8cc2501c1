"""GPT-OSS experts: clamped SwiGLU, exactly HF's GptOssExperts.

gate_up_proj is interleaved (gate = columns 0::2, up = 1::2); it is de-interleaved at load time into
separate gate and up weights. gate is clamped above at limit, up to [-limit, limit];
out = (up + 1) * gate * sigmoid(alpha * gate), alpha = 1.702; then down_proj + bias.

Mesh: experts split over rows (expert parallel), intermediate split over columns (tensor parallel).
Every device runs its local experts densely on all tokens and scales by the routing weight (zero for
tokens not routed there); partial sums are all-reduced over columns, then over rows. The down bias is
applied once after the reductions as dense_weights @ down_bias. Dense compute is the simple and
always-correct form; tt-metal's sparse dispatch (all_to_all) is a performance choice left out here.
"""
from __future__ import annotations

import torch

from tt_model.mesh import EP_AXIS, TP_AXIS

ALPHA = 1.702
# Tokens per dense expert pass. Dense experts hold every token for every local expert (repeat, gate, up, down):
# a batch-32 x 128 prefill at once needs 1.5 GB of intermediates per chip on a 120B Galaxy, more than a chip's
# DRAM banks have left (the emulator refuses it as the allocator does). 512 tokens per pass (four 128-token users)
# bound them to a quarter of that while keeping the op count of a long prefill small. Rows are independent, so
# the result is the same.
TOKEN_CHUNK = 512
_GATE, _UP = slice(0, None, 2), slice(1, None, 2)  # columns of the interleaved gate_up_proj


class Experts:
    def __init__(self, ttnn, weights, reader, prefix, config, mesh, precision):
        self.ttnn, self.mesh, self.limit = ttnn, mesh, config.swiglu_limit
        self.local = config.num_local_experts // mesh.rows
        p = f"{prefix}.mlp.experts"
        wdt = precision.dtype(ttnn, "expert_weights")
        act = ttnn.bfloat16
        gate_up_bias = reader.float(f"{p}.gate_up_proj_bias")  # [E, 2I]
        put = weights.put
        # gate and up are cut from the interleaved gate_up one after the other (each dequantized anew), so
        # only one [E, H, I] float32 half lives at a time: 1 GB at 20B width.
        self.w_gate = put(_stacked(reader, p, "gate_up_proj", config, _GATE)[None], f"{p}.gate", wdt, rows=1, cols=-1)
        self.w_up = put(_stacked(reader, p, "gate_up_proj", config, _UP)[None], f"{p}.up", wdt, rows=1, cols=-1)
        self.b_gate = put(gate_up_bias[:, 0::2][None, :, None, :], f"{p}.gate_bias", act, rows=1, cols=-1)
        self.b_up = put(gate_up_bias[:, 1::2][None, :, None, :], f"{p}.up_bias", act, rows=1, cols=-1)
        self.w_down = put(_stacked(reader, p, "down_proj", config)[None], f"{p}.down", wdt, rows=1, cols=-2)
        self.b_down = put(reader.float(f"{p}.down_proj_bias")[None, None], f"{p}.down_bias", act)
        # One-hot [E, E] split by columns over rows: dense routing weights @ select = this row's experts.
        eye = torch.eye(config.num_local_experts)[None, None]
        self.select = put(eye, f"{p}.select", ttnn.bfloat16, rows=-1)
        self.kernel = precision.kernel_config(ttnn)

    def __call__(self, x, dense):
        """x [1, 1, T, H] bf16, dense routing weights [1, 1, T, E] -> [1, 1, T, H], TOKEN_CHUNK tokens at a time."""
        ttnn = self.ttnn
        tokens, hidden, experts = x.shape[-2], x.shape[-1], dense.shape[-1]
        if tokens <= TOKEN_CHUNK:
            return self._dense(x, dense)
        parts = [self._dense(ttnn.slice(x, (0, 0, start, 0), (1, 1, min(start + TOKEN_CHUNK, tokens), hidden)),
                             ttnn.slice(dense, (0, 0, start, 0), (1, 1, min(start + TOKEN_CHUNK, tokens), experts)))
                 for start in range(0, tokens, TOKEN_CHUNK)]
        return ttnn.concat(parts, dim=2)

    def _dense(self, x, dense):
        ttnn = self.ttnn
        kc = self.kernel
        local = ttnn.matmul(ttnn.typecast(dense, ttnn.bfloat16), self.select, compute_kernel_config=kc, dtype=ttnn.float32)
        local = ttnn.permute(local, (0, 3, 2, 1))  # [1, E_local, T, 1]
        xs = ttnn.repeat(x, (1, self.local, 1, 1))
        # SwiGLU in the activation dtype, as tt-metal's gpt_oss apply_swiglu does: ttnn.sigmoid documents
        # BFLOAT16 only (0.81.1), so gate/up leave their matmuls in bfloat16 rather than float32.
        gate = ttnn.add(ttnn.matmul(xs, self.w_gate, compute_kernel_config=kc, dtype=ttnn.bfloat16), self.b_gate)
        up = ttnn.add(ttnn.matmul(xs, self.w_up, compute_kernel_config=kc, dtype=ttnn.bfloat16), self.b_up)
        gate = ttnn.clamp(gate, max=self.limit)
        up = ttnn.clamp(up, min=-self.limit, max=self.limit)
        glu = ttnn.mul(gate, ttnn.sigmoid(ttnn.mul(gate, ALPHA)))
        hidden = ttnn.mul(ttnn.add(up, 1.0), glu)
        down = ttnn.matmul(hidden, self.w_down, compute_kernel_config=kc, dtype=ttnn.float32)
        out = ttnn.sum(ttnn.mul(down, local), dim=1, keepdim=True)
        out = ttnn.typecast(out, ttnn.bfloat16)
        # CCL choices unverified without hardware (Ring over 8 columns, Linear over 4 rows).
        if self.mesh.cols > 1:
            out = ttnn.all_reduce(out, cluster_axis=TP_AXIS, topology=ttnn.Topology.Ring)
        if self.mesh.rows > 1:
            out = ttnn.all_reduce(out, cluster_axis=EP_AXIS, topology=ttnn.Topology.Linear)
        bias = ttnn.matmul(ttnn.typecast(dense, ttnn.bfloat16), self.b_down, compute_kernel_config=kc)
        return ttnn.add(out, bias)


def _stacked(reader, prefix: str, leaf: str, config, cols: slice = slice(None)) -> torch.Tensor:
    """[E, in, out] float32: columns ``cols`` of each expert's ``leaf``, dequantized one expert at a time."""
    first = reader.expert_row(prefix, leaf, 0)[:, cols]  # its device says real or meta (shape-only)
    out = torch.empty(config.num_local_experts, *first.shape, device=first.device)
    out[0] = first
    for expert in range(1, config.num_local_experts):
        out[expert] = reader.expert_row(prefix, leaf, expert)[:, cols]
    return out
