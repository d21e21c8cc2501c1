"""YaRN rotary embedding, the tables computed on host exactly as the HF reference does
(transformers' ``ROPE_INIT_FUNCTIONS['yarn']``: inv_freq and the attention scaling folded into cos/sin).

HF GPT-OSS rotates halves: out = [x1*cos - x2*sin, x2*cos + x1*sin]. On device this is
x * cos_full + (x @ R) * sin_full, where R is the fixed rotate-half matrix (exact in bf16)."""
from __future__ import annotations

import torch


class RotaryTables:
    def __init__(self, config):
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

        hf = config.hf_config()
        rope_type = hf.rope_parameters["rope_type"]
        if rope_type == "default":
            base = hf.rope_parameters["rope_theta"]
            self.inv_freq = 1.0 / base ** (torch.arange(0, config.head_dim, 2).float() / config.head_dim)
            self.scaling = 1.0
        else:
            inv_freq, scaling = ROPE_INIT_FUNCTIONS[rope_type](hf)
            self.inv_freq, self.scaling = inv_freq.float(), float(scaling)
        self.head_dim = config.head_dim

    def cos_sin(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [...] -> cos, sin [..., head_dim] (halves duplicated)."""
        # float32 like HF (positions @ inv_freq), so the tables match the reference bit for bit
        freqs = (positions.float()[..., None] @ self.inv_freq.float()[None, :])
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos() * self.scaling, emb.sin() * self.scaling

    def rotate_half_matrix(self) -> torch.Tensor:
        d, half = self.head_dim, self.head_dim // 2
        r = torch.zeros(d, d)
        idx = torch.arange(half)
        r[idx + half, idx] = -1.0
        r[idx, idx + half] = 1.0
        return r


def apply_rope(ttnn, x, cos, sin, rot_mat):
    """x [b, heads, s, dh]; cos/sin broadcast over heads. On hardware the fused alternative is
    ttnn.experimental.rotary_embedding_llama with a trans_mat (needs the llama column permutation of
    q/k weights); this form keeps HF's half layout and per-user decode positions with plain ops."""
    rotated = ttnn.matmul(x, rot_mat)
    return ttnn.add(ttnn.mul(x, cos), ttnn.mul(rotated, sin))
