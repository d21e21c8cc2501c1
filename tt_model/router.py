"""Router: linear + bias (HiFi4, fp32 accumulation, fp32 logits), top-k, softmax over the chosen logits,
scattered into a dense bfloat16 [tokens, experts] weight matrix. Computed redundantly on every device (it is tiny)."""
from __future__ import annotations


class Router:
    def __init__(self, ttnn, weights, reader, prefix, config, precision):
        self.ttnn, self.k, self.experts = ttnn, config.num_experts_per_tok, config.num_local_experts
        p = f"{prefix}.mlp.router"
        wdt = precision.dtype(ttnn, "router_weights")
        self.weight = weights.put(reader.float(f"{p}.weight").T, f"{p}.weight", wdt)
        self.bias = weights.put(reader.float(f"{p}.bias").reshape(1, 1, 1, -1), f"{p}.bias", ttnn.float32)
        self.kernel = precision.kernel_config(ttnn, router=True)

    def __call__(self, x):
        """x [1, 1, T, H] -> (logits fp32 [1,1,T,E], topk ids [1,1,T,k], topk weights fp32 [1,1,T,k], dense bf16 [1,1,T,E])."""
        ttnn = self.ttnn
        logits = ttnn.linear(x, self.weight, bias=self.bias, compute_kernel_config=self.kernel, dtype=ttnn.float32)
        # Device topk takes bf16 input; the softmax over the k chosen values runs in fp32.
        values, ids = ttnn.topk(ttnn.typecast(logits, ttnn.bfloat16), self.k, dim=-1, largest=True, sorted=True)
        weights = ttnn.softmax(ttnn.typecast(values, ttnn.float32), dim=-1, compute_kernel_config=self.kernel)
        # The device's scatter refuses float32 TILE tensors (scatter.cpp check_support), so the dense routing
        # matrix is built in bfloat16: the experts read it as bfloat16 anyway.
        dense = ttnn.scatter(ttnn.zeros_like(logits, dtype=ttnn.bfloat16), -1, ids, ttnn.typecast(weights, ttnn.bfloat16))
        return logits, ids, weights, dense
