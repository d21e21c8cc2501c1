"""The MoE block: router then experts."""
from __future__ import annotations

from tt_model.experts import Experts
from tt_model.profiling import scope
from tt_model.router import Router


class MoE:
    def __init__(self, ttnn, weights, reader, prefix, config, mesh, precision):
        self.ttnn = ttnn
        self.router = Router(ttnn, weights, reader, prefix, config, precision)
        self.experts = Experts(ttnn, weights, reader, prefix, config, mesh, precision)

    def __call__(self, x, record=None):
        with scope(self.ttnn, "router"):
            logits, ids, topk_weights, dense = self.router(x)
        with scope(self.ttnn, "experts"):
            out = self.experts(x, dense)
        if record is not None:
            record("router_logits", logits)
            record("topk_ids", ids)
            record("topk_weights", topk_weights)
            record("moe_out", out)
        return out
