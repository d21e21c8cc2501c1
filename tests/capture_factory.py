"""Synthetic Captures with the real field names and shapes, for tests that need no model."""

import json

import torch

from ground.captures import LAYER_FIELDS, Captures, decode_phase


def filled_captures(num_layers=2, batch=2, seq=5, hidden=8, experts=4, k=2, vocab=11, seed=0) -> Captures:
    g = torch.Generator().manual_seed(seed)
    captures = Captures(metadata={"model": "unit"})
    for phase, s in (("prefill", seq), (decode_phase(0), 1)):
        p = captures.phase(phase)
        for i in range(num_layers):
            layer = p.layer(i)
            for name in LAYER_FIELDS:
                if name == "topk_ids":
                    layer[name] = torch.rand(batch, s, experts, generator=g).argsort(-1)[..., :k]
                elif name in ("router_logits",):
                    layer[name] = torch.randn(batch, s, experts, generator=g)
                elif name == "topk_weights":
                    layer[name] = torch.rand(batch, s, k, generator=g).softmax(-1)
                else:
                    layer[name] = torch.randn(batch, s, hidden, generator=g)
        p.model["final_norm"] = torch.randn(batch, s, hidden, generator=g)
        p.model["logits"] = torch.randn(batch, s, vocab, generator=g)
    return captures


def copy_captures(captures: Captures) -> Captures:
    order = json.dumps(list(captures.phases))
    return Captures.from_flat({k: v.clone() for k, v in captures.to_flat().items()}, dict(captures.metadata, phase_order=order))
