"""Where the reference's decoder layers come from, and how long they stay in memory.

A layer is HF's ``GptOssDecoderLayer`` (attention with sinks, RMSNorms, router: HF's modules and
maths) built around this checkpoint's tensors, with its experts replaced by ``Experts``, which
dequantizes a routed expert's MXFP4 weights when tokens reach it. Three sources:

- ``WholeLayers``: every layer built once, every expert dequantized once (float32). Small models.
- ``StreamedLayers``: a layer built from the memory-mapped checkpoint on each visit and dropped
  after it; one layer's dense weights plus one expert in float32 at a time. Any size.
- ``ResidentLayers``: every layer built once and kept, its experts in their stored form (MXFP4
  packed: ~10 GB for 20B) and dequantized per routed expert on each visit. For greedy decode of a
  large model: a decode step then reads nothing from the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ground.checkpoint import Checkpoint
from ground.tensors import TensorReader
from reference.mxfp4_lut import Dequantizer

VOCAB_CHUNK = 16384
EXPERT_LEAVES = ("gate_up_proj", "down_proj")


def layer_prefix(index: int) -> str:
    return f"model.layers.{index}."


def release_mappings(reader: TensorReader) -> None:
    """Unmaps the checkpoint's shards (see TensorReader.release): everything kept here is a copy, so
    dropping the maps after each expert, layer and lm_head chunk returns those pages to the page cache."""
    reader.release()


def owned(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A copy in RAM (``.to`` alone would return the memory-mapped view when the dtype matches)."""
    return tensor.to(dtype, copy=True)


class ExpertWeights:
    """One layer's expert weights as stored, read per expert: from the memory-mapped checkpoint, or
    (``resident``) from copies held in RAM. ``weight(leaf, e)`` is float32 [out, in], valid until the
    next call for the same leaf."""

    def __init__(self, reader: TensorReader, prefix: str, dequantizer: Dequantizer, resident: bool = False):
        self.prefix, self.dequantizer = prefix, dequantizer
        self.packed = reader.has(f"{prefix}.gate_up_proj_blocks")
        names = [f"{prefix}.{leaf}{part}" for leaf in EXPERT_LEAVES
                 for part in (("_blocks", "_scales") if self.packed else ("",))]
        # Resident: copied into RAM (the reader's tensors are views of the memory-mapped file, which
        # the kernel may drop and read again from disk).
        self._stored: dict[str, torch.Tensor] | None = {n: reader.get(n).clone() for n in names} if resident else None
        self._reader = reader

    def _row(self, name: str, expert: int) -> torch.Tensor:
        if self._stored is not None:
            return self._stored[name][expert]
        return self._reader.get_row(name, expert)

    def weight(self, leaf: str, expert: int) -> torch.Tensor:
        name = f"{self.prefix}.{leaf}"
        if self.packed:
            weight = self.dequantizer(self._row(f"{name}_blocks", expert), self._row(f"{name}_scales", expert), leaf)
        else:
            weight = owned(self._row(name, expert), torch.float32).T  # unquantized checkpoints store HF's [in, out]
        if self._stored is None:
            release_mappings(self._reader)
        return weight


class DenseExperts:
    """Every expert of a layer dequantized once, float32 [E, out, in] (the whole-model source)."""

    def __init__(self, source: ExpertWeights, num_experts: int):
        self.weights = {leaf: torch.stack([source.weight(leaf, e).clone() for e in range(num_experts)])
                        for leaf in EXPERT_LEAVES}

    def weight(self, leaf: str, expert: int) -> torch.Tensor:
        return self.weights[leaf][expert]


class Experts(torch.nn.Module):
    """Stands in for HF's ``GptOssExperts``: same forward contract and maths (clamped SwiGLU on
    interleaved gate/up, routing-weighted sum in expert order), each routed expert's weights fetched
    once per call. Work is grouped by expert and the gate runs once over every (token, expert) pair:
    a handful of large ops rather than a dozen small ones per expert, which a busy host punishes."""

    def __init__(self, config, weights, gate_up_bias: torch.Tensor, down_bias: torch.Tensor,
                 on_expert: Callable[[], None] = lambda: None):
        super().__init__()
        self.weights, self.on_expert = weights, on_expert
        self.alpha, self.limit = config.swiglu_alpha, config.swiglu_limit
        self.gate_up_proj_bias, self.down_proj_bias = gate_up_bias, down_bias

    def _apply_gate(self, gate_up: torch.Tensor) -> torch.Tensor:
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssExperts

        return GptOssExperts._apply_gate(self, gate_up)

    def forward(self, hidden_states, router_indices, routing_weights):
        tokens, top_k = router_indices.shape
        # Each token's picks in expert order, as HF's index_add_ sums them.
        router_indices, order_k = router_indices.sort(dim=1)
        routing_weights = routing_weights.gather(1, order_k)
        pairs = router_indices.reshape(-1)
        order = torch.argsort(pairs, stable=True)  # pairs grouped by expert
        counts = torch.bincount(pairs, minlength=self.gate_up_proj_bias.shape[0]).tolist()
        x = hidden_states[order // top_k]
        gate_up = x.new_empty(x.shape[0], self.gate_up_proj_bias.shape[1])
        for expert, rows in self._groups(counts):
            torch.addmm(self.gate_up_proj_bias[expert], x[rows], self.weights.weight("gate_up_proj", expert).T,
                        out=gate_up[rows])
        gated = self._apply_gate(gate_up)
        del gate_up
        out = x.new_empty(x.shape)
        for expert, rows in self._groups(counts):
            torch.addmm(self.down_proj_bias[expert], gated[rows], self.weights.weight("down_proj", expert).T,
                        out=out[rows])
            self.on_expert()
        out.mul_(routing_weights.reshape(-1)[order, None])
        per_pick = torch.empty_like(out)
        per_pick[order] = out
        per_pick = per_pick.view(tokens, top_k, -1)
        result = per_pick[:, 0].clone()
        for k in range(1, top_k):
            result += per_pick[:, k]
        return result

    @staticmethod
    def _groups(counts: list[int]):
        start = 0
        for expert, n in enumerate(counts):
            if n:
                yield expert, slice(start, start + n)
            start += n


class LayerBuilder:
    """Builds HF decoder layers from a checkpoint; counts expert fetches (dequantizations)."""

    def __init__(self, checkpoint: Checkpoint, dtype: torch.dtype = torch.float32):
        self.config = checkpoint.hf_config()
        self.reader = checkpoint.tensors
        self.dtype = dtype
        self.dequantizer = Dequantizer()
        self.experts_loaded = 0

    def _count(self) -> None:
        self.experts_loaded += 1

    def expert_weights(self, index: int, resident: bool = False) -> ExpertWeights:
        return ExpertWeights(self.reader, f"{layer_prefix(index)}mlp.experts", self.dequantizer, resident)

    def build(self, index: int, experts=None):
        """Layer ``index``; ``experts`` is an ExpertWeights/DenseExperts (default: streamed from disk)."""
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssDecoderLayer

        prefix = layer_prefix(index)
        with torch.device("meta"):
            layer = GptOssDecoderLayer(self.config, index)
        experts = experts if experts is not None else self.expert_weights(index)
        bias = {leaf: owned(self.reader.get(f"{prefix}mlp.experts.{leaf}_bias"), self.dtype) for leaf in EXPERT_LEAVES}
        layer.mlp.experts = Experts(self.config, experts, bias["gate_up_proj"], bias["down_proj"], self._count)
        state = {n[len(prefix):]: owned(self.reader.get(n), self.dtype) for n in self.reader.names(prefix)
                 if ".mlp.experts." not in n}
        missing, unexpected = layer.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise RuntimeError(f"layer {index}: missing {missing}, unexpected {unexpected}")
        return layer.eval()


class StreamedLayers:
    """One layer in memory at a time, read from the checkpoint on every visit."""

    def __init__(self, builder: LayerBuilder):
        self.builder = builder

    def get(self, index: int):
        return self.builder.build(index)


class _KeptLayers:
    def __init__(self, builder: LayerBuilder):
        self.builder = builder
        self.layers: dict[int, torch.nn.Module] = {}

    def _experts(self, index: int):
        raise NotImplementedError

    def get(self, index: int):
        if index not in self.layers:
            self.layers[index] = self.builder.build(index, self._experts(index))
        return self.layers[index]


class ResidentLayers(_KeptLayers):
    """Layers kept after their first visit: dense weights in float32, experts MXFP4-packed in RAM."""

    def _experts(self, index: int):
        return self.builder.expert_weights(index, resident=True)


class WholeLayers(_KeptLayers):
    """Layers kept after their first visit with every expert dequantized (float32)."""

    def _experts(self, index: int):
        config = self.builder.config
        return DenseExperts(self.builder.expert_weights(index), config.num_local_experts)


class Embedding:
    """Token embedding rows read from the checkpoint one distinct id at a time (the 201088-row
    table is never loaded whole)."""

    def __init__(self, reader: TensorReader, dtype: torch.dtype):
        self.reader, self.dtype = reader, dtype

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        unique, inverse = torch.unique(ids, return_inverse=True)
        rows = torch.stack([self.reader.get_row("model.embed_tokens.weight", i) for i in unique.tolist()])
        release_mappings(self.reader)
        return rows.to(self.dtype)[inverse]


class LmHead:
    """``lm_head`` over vocabulary chunks. Streamed: each chunk read and converted per call (the
    weight never lives in float32 whole); ``keep``: converted once and held (greedy decode)."""

    def __init__(self, reader: TensorReader, vocab: int, dtype: torch.dtype, keep: bool = False):
        self.reader, self.vocab, self.dtype = reader, vocab, dtype
        self.kept: torch.Tensor | None = owned(reader.get("lm_head.weight"), dtype) if keep else None
        release_mappings(reader)

    def chunk(self, start: int) -> torch.Tensor:
        stop = min(start + VOCAB_CHUNK, self.vocab)
        if self.kept is not None:
            return self.kept[start:stop]
        # get_row takes a slice as well as an index: a range of rows straight from the mmap.
        chunk = owned(self.reader.get_row("lm_head.weight", slice(start, stop)), self.dtype)
        release_mappings(self.reader)
        return chunk

    def __call__(self, hidden: torch.Tensor):
        """hidden [N, H] -> (first vocabulary id, logits [N, chunk]) per vocabulary chunk."""
        for start in range(0, self.vocab, VOCAB_CHUNK):
            yield start, F.linear(hidden, self.chunk(start))
