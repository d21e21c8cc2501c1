"""One decoder layer: RMSNorm -> attention -> residual -> RMSNorm -> MoE -> residual."""
from __future__ import annotations

from tt_model.attention import Attention
from tt_model.mlp import MoE
from tt_model.profiling import scope
from tt_model.rms_norm import RMSNorm


class DecoderLayer:
    def __init__(self, ttnn, weights, reader, config, mesh, precision, layer, rope_mat):
        self.ttnn = ttnn
        prefix = f"model.layers.{layer}"
        eps = config.rms_norm_eps
        self.input_norm = RMSNorm(ttnn, weights, reader.float(f"{prefix}.input_layernorm.weight"), eps, f"{prefix}.in_norm")
        self.post_norm = RMSNorm(ttnn, weights, reader.float(f"{prefix}.post_attention_layernorm.weight"), eps,
                                 f"{prefix}.post_norm")
        self.attention = Attention(ttnn, weights, reader, prefix, config, mesh, precision, layer, rope_mat)
        self.mlp = MoE(ttnn, weights, reader, prefix, config, mesh, precision)

    def __call__(self, x, attend, record=None):
        """x [1, 1, T, H]; ``attend(attention, normed)`` runs prefill or decode attention."""
        ttnn = self.ttnn
        with scope(ttnn, "norms"):
            normed = self.input_norm(x)
        with scope(ttnn, "attention"):
            attn = attend(self.attention, normed)
        with scope(ttnn, "residual"):
            resid = ttnn.add(x, attn)
        with scope(ttnn, "norms"):
            mlp_in = self.post_norm(resid)
        moe = self.mlp(mlp_in, record)
        with scope(ttnn, "residual"):
            out = ttnn.add(resid, moe)
        if record is not None:
            for name, t in (("layer_in", x), ("attn_norm", normed), ("attn_out", attn), ("resid_attn", resid),
                            ("mlp_norm", mlp_in), ("layer_out", out)):
                record(name, t)
        return out
