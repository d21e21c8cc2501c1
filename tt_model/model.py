"""The whole model on a mesh: embedding, decoder layers, final norm, lm_head (vocab split over columns,
all-gathered). Holds the KV caches and the host-side bookkeeping of slots and positions.

Decode reads its per-step inputs (token ids, rotary cos/sin, masks, the cache slot) from device tensors that
persist across steps and are refilled from the host before each step, as tt-metal's generator does; so one
decode step can be captured as a metal trace and replayed (``trace=True``): the first step compiles, the second
captures, every later one replays without host dispatch."""
from __future__ import annotations

import torch

from ground.captures import INTEGER_FIELDS, Captures
from ground.errors import UserError
from tt_model.attention import decode_mask, prefill_mask
from tt_model.decoder import DecoderLayer
from tt_model.mesh import TP_AXIS, check_divisibility, close_mesh, open_mesh
from tt_model.profiling import scope
from tt_model.rms_norm import RMSNorm
from tt_model.rope import RotaryTables
from tt_model.weights import DeviceWeights, cache_dir, unpad_shards

LOGIT_CHUNK = 512  # tokens whose vocab-wide logits are computed (and read back) at once in a prefill


def cache_length(tokens: int) -> int:
    """KV cache slots for ``tokens`` positions: whole tiles of 32, as the caches are tile-laid-out."""
    return -(-tokens // 32) * 32


class GptOssModel:
    def __init__(self, ttnn, checkpoint, mesh, precision, layers: int | None = None, cache_root=None,
                 trace: bool = False):
        config = checkpoint.config
        check_divisibility(mesh, config)
        self.ttnn, self.config, self.mesh, self.precision = ttnn, config, mesh, precision
        self.device = open_mesh(ttnn, mesh)
        reader = checkpoint.tensors
        weights = DeviceWeights(ttnn, self.device, mesh, cache_dir(cache_root, checkpoint, precision, mesh))
        self.rope = RotaryTables(config)
        rope_mat = weights.put(self.rope.rotate_half_matrix(), "rope.rotate_half", ttnn.bfloat16)
        # The two vocab-sized tables go to the device in their stored dtype (bfloat16), not float32: at
        # 201088 x 2880 a float32 copy is a 2.3 GB host temporary, and the device rounds them anyway.
        self.embedding = weights.put(reader.get("model.embed_tokens.weight"), "embed", ttnn.bfloat16,
                                     layout=ttnn.ROW_MAJOR_LAYOUT)
        # Device tensors are copies: after each piece the checkpoint's memory maps are dropped, or the
        # pages read so far (the whole checkpoint, by the end) would stay in this process's RSS.
        reader.release()
        n_layers = config.num_hidden_layers if layers is None else layers
        self.layers = []
        for i in range(n_layers):
            self.layers.append(DecoderLayer(ttnn, weights, reader, config, mesh, precision, i, rope_mat))
            reader.release()
        self.norm = RMSNorm(ttnn, weights, reader.float("model.norm.weight"), config.rms_norm_eps, "norm")
        self.lm_head = weights.put(reader.get("lm_head.weight").T, "lm_head",
                                   precision.dtype(ttnn, "lm_head_weights"), cols=-1)
        reader.release()
        self.kernel = precision.kernel_config(ttnn)
        self.windows = {config.window(i) for i in range(n_layers)}  # one decode mask per distinct window
        self.valid: torch.Tensor | None = None  # [B, slots] which cache slots hold real tokens
        self.cache_len = 0
        self.cache_shape: tuple[int, int] | None = None  # (batch, cache_len) the caches were allocated for
        self.trace = trace
        self._inputs: DecodeInputs | None = None  # persistent device inputs of a decode step
        self._trace_id = None
        self._trace_logits = None
        self._compiled = False  # a decode step ran untraced since the inputs were allocated

    # ---------------------------------------------------------------- host <-> device
    def to_host(self, t) -> torch.Tensor:
        """A replicated device tensor -> torch (first device's copy)."""
        ttnn = self.ttnn
        return ttnn.to_torch(ttnn.get_device_tensors(t)[0]).float()

    def _put(self, tensor, dtype, layout=None):
        ttnn = self.ttnn
        return ttnn.from_torch(tensor, dtype=dtype, layout=ttnn.TILE_LAYOUT if layout is None else layout,
                               device=self.device, mesh_mapper=ttnn.ReplicateTensorToMesh(self.device))

    def _embed(self, ids: torch.Tensor):
        return self._lookup(self._put(ids.reshape(1, -1).to(torch.int32), self.ttnn.uint32, self.ttnn.ROW_MAJOR_LAYOUT))

    def _lookup(self, flat):
        """Token ids on device [1, T] -> embeddings [1, 1, T, H]."""
        ttnn = self.ttnn
        with scope(ttnn, "embedding"):
            x = ttnn.embedding(flat, self.embedding, layout=ttnn.TILE_LAYOUT, dtype=ttnn.bfloat16)
            return ttnn.reshape(x, (1, 1, flat.shape[-1], self.config.hidden_size))

    def _head(self, x):
        """-> (normed, logits): gathered float32 logits on device, or for more than LOGIT_CHUNK tokens (a
        prefill) on the host: every position's vocab-wide logits at once (teacher-forced accuracy reads them
        all) outgrow a chip's DRAM at batch 32 (3.3 GB per chip for 120B on 4x8, refused as the allocator
        refuses it), so each chunk is gathered and read back before the next is computed."""
        ttnn = self.ttnn
        with scope(ttnn, "lm_head"):
            normed = self.norm(x)
            tokens, hidden = normed.shape[-2], normed.shape[-1]
            if tokens <= LOGIT_CHUNK:
                return normed, self._logits(normed)
            parts = []
            for start in range(0, tokens, LOGIT_CHUNK):
                end = min(start + LOGIT_CHUNK, tokens)
                logits = self._logits(ttnn.slice(normed, (0, 0, start, 0), (1, 1, end, hidden)))
                parts.append(self._host_logits(logits))
                ttnn.deallocate(logits)
        return normed, torch.cat(parts, dim=-2)

    def _logits(self, normed):
        ttnn = self.ttnn
        logits = ttnn.linear(normed, self.lm_head, compute_kernel_config=self.kernel, dtype=ttnn.float32)
        if self.mesh.cols > 1:
            logits = ttnn.all_gather(logits, -1, cluster_axis=TP_AXIS, topology=ttnn.Topology.Ring)
        return logits

    def _rope(self, positions: torch.Tensor):
        cos, sin = self.rope.cos_sin(positions)  # [B, S, dh]
        return self._put(cos[:, None], self.ttnn.bfloat16), self._put(sin[:, None], self.ttnn.bfloat16)

    # ---------------------------------------------------------------- forward passes
    def _forward(self, x, attend, record=None):
        """Embeddings [1, 1, T, H] through every layer and the head -> gathered logits on device."""
        for i, layer in enumerate(self.layers):
            with scope(self.ttnn, f"layer_{i}"):
                x = layer(x, attend(i), record(i) if record else None)
        normed, logits = self._head(x)
        if record:
            record(None)("final_norm", normed)
            record(None)("logits", logits)
        return logits

    def _run(self, x, attend, batch, seq, record):
        return self._host_logits(self._forward(x, attend, record)).reshape(batch, seq, -1)

    def _host_logits(self, logits) -> torch.Tensor:
        """Gathered logits -> torch [.., vocab]: each device's tile padding of its vocab slice dropped (logits
        already read back chunk by chunk by _head are returned as they are)."""
        if isinstance(logits, torch.Tensor):
            return logits
        return unpad_shards(self.to_host(logits), self.config.vocab_size, self.mesh.cols)

    def prefill(self, token_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                max_new_tokens: int = 128, record=None) -> torch.Tensor:
        """token_ids [B, S] (left padded, mask 0 on pads) -> logits [B, S, V]. Fills the KV caches."""
        ids, valid = _check_inputs(token_ids, attention_mask)
        batch, seq = ids.shape
        self._allocate_caches(batch, cache_length(seq + max_new_tokens))
        self.valid = valid
        cos, sin = self._rope(_positions(valid))
        masks = {}

        def attend(i):
            window = self.config.window(i)
            if window not in masks:
                masks[window] = self._put(prefill_mask(valid, window), self.ttnn.float32)
            return lambda attn, h: attn.prefill(h, batch, seq, cos, sin, masks[window])

        return self._run(self._embed(ids), attend, batch, seq, record)

    def _allocate_caches(self, batch: int, length: int) -> None:
        """KV caches for ``batch`` users of ``length`` slots; kept (with any captured decode trace, which reads
        them) while the shape stays the same, as a serving loop reuses its caches across requests."""
        if self.cache_shape == (batch, length):
            return
        self.release_trace()
        self._inputs = None
        for layer in self.layers:
            layer.attention.allocate_cache(batch, length)
        self.cache_len, self.cache_shape = length, (batch, length)

    def decode_step(self, tokens: torch.Tensor, record=None) -> torch.Tensor:
        """tokens [B] -> logits [B, V]; appends one slot to every user's cache."""
        if self.valid is None:
            raise UserError("decode_step called before prefill")
        tokens = torch.as_tensor(tokens).reshape(-1)
        batch = self.valid.shape[0]
        if tokens.numel() != batch:
            raise UserError(f"decode_step got {tokens.numel()} tokens; expected one per user ({batch})")
        inputs = self._next_decode_slot(tokens)
        if self.trace and record is None:
            logits = self._traced_step(inputs)
        else:
            logits = self._decode_forward(inputs, record)
            self._compiled = True
        return self._host_logits(logits).reshape(batch, -1)

    def _decode_forward(self, inputs: "DecodeInputs", record=None):
        batch = inputs.tokens.shape[-1]

        def attend(i):
            window = self.config.window(i)
            return lambda attn, h: attn.decode(h, batch, inputs.slot, inputs.cos, inputs.sin, inputs.masks[window])

        return self._forward(self._lookup(inputs.tokens), attend, record)

    def _traced_step(self, inputs: "DecodeInputs"):
        """Compile on the first step, capture the second, replay from then on (tt-metal's order: a trace can
        only be captured once every program of the step is compiled)."""
        ttnn = self.ttnn
        if self._trace_id is None:
            if not self._compiled:
                self._compiled = True
                return self._decode_forward(inputs)
            self._trace_id = ttnn.begin_trace_capture(self.device, cq_id=0)
            self._trace_logits = self._decode_forward(inputs)
            ttnn.end_trace_capture(self.device, self._trace_id, cq_id=0)
        ttnn.execute_trace(self.device, self._trace_id, cq_id=0, blocking=False)
        return self._trace_logits

    def release_trace(self) -> None:
        if self._trace_id is not None:
            self.ttnn.release_trace(self.device, self._trace_id)
        self._trace_id, self._trace_logits, self._compiled = None, None, False

    def _next_decode_slot(self, tokens: torch.Tensor | None = None) -> "DecodeInputs":
        """Claims the next cache slot for every user and writes that step's inputs into the persistent device
        tensors (allocated on first use); ``tokens`` None keeps the ids (isolated layers feed hidden states)."""
        batch, slot = self.valid.shape
        if slot >= self.cache_len:
            raise UserError(f"KV cache full at {self.cache_len} slots; pass a larger max_new_tokens to prefill")
        self.valid = torch.cat([self.valid, torch.ones(batch, 1, dtype=torch.bool)], dim=1)
        cos, sin = self.rope.cos_sin(self.valid.sum(dim=1, keepdim=True) - 1)  # positions [B, 1]
        host = {"tokens": (torch.zeros(batch) if tokens is None else tokens).reshape(1, -1).to(torch.int32),
                "cos": cos[:, None], "sin": sin[:, None], "slot": torch.full((batch,), slot, dtype=torch.int32),
                **{("mask", w): decode_mask(self.valid, slot, self.cache_len, w) for w in self.windows}}
        if self._inputs is None:
            self._inputs = DecodeInputs.allocate(self, host)
        else:
            self._inputs.refill(self, host)
        return self._inputs

    def isolated_layers(self, reference: Captures, attention_mask: torch.Tensor | None = None) -> Captures:
        """Every device layer fed the reference's input of that layer, for the prefill and each decode step
        the reference ran (its KV cache filled from reference inputs too), so a layer's error is its own
        rather than inherited from the layers before it. Same structure as ``reference``."""
        out = Captures(metadata={"kind": "isolated"})
        prefill = reference.phases["prefill"]
        steps = [p for p in reference.phases if p != "prefill"]
        for index in range(min(len(self.layers), len(prefill.layers))):
            layer_in = prefill.layers[index]["layer_in"]
            batch, seq, hidden = layer_in.shape
            valid = torch.ones(batch, seq, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
            self.cache_len = cache_length(seq + max(len(steps), 1))
            self.layers[index].attention.allocate_cache(batch, self.cache_len)
            self.cache_shape, self._inputs = None, None  # the layers' caches no longer match: reallocate next time
            self.release_trace()
            self.valid = valid
            cos, sin = self._rope(_positions(valid))
            window = self.config.window(index)
            mask = self._put(prefill_mask(valid, window), self.ttnn.float32)
            x = self._put(layer_in.reshape(1, 1, batch * seq, hidden).float(), self.ttnn.bfloat16)
            self.layers[index](x, lambda attn, h: attn.prefill(h, batch, seq, cos, sin, mask),
                               self.recorder(out, "prefill", batch, seq)(index))
            for phase in steps:
                inputs = self._next_decode_slot()
                step_in = reference.phases[phase].layers[index]["layer_in"]
                x = self._put(step_in.reshape(1, 1, batch, hidden).float(), self.ttnn.bfloat16)
                mask = inputs.masks[window]
                self.layers[index](x, lambda attn, h: attn.decode(h, batch, inputs.slot, inputs.cos, inputs.sin, mask),
                                   self.recorder(out, phase, batch, 1)(index))
        self.valid = None  # the caches now hold a mix of layers' runs: a new prefill must come first
        return out

    def isolated_layer(self, index: int, layer_in: torch.Tensor, attention_mask: torch.Tensor | None = None) -> dict:
        """Runs device layer ``index`` (prefill) on a torch input [B, S, H]; returns its captures (float32)."""
        if not 0 <= index < len(self.layers):
            raise UserError(f"layer {index} is out of range; the model has {len(self.layers)} layers")
        batch, seq, hidden = layer_in.shape
        valid = torch.ones(batch, seq, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        layer = self.layers[index]
        layer.attention.cache_k = layer.attention.cache_v = None  # no cache writes for an isolated run
        cos, sin = self._rope(_positions(valid))
        window = self.config.window(index)
        mask = self._put(prefill_mask(valid, window), self.ttnn.float32)
        x = self._put(layer_in.reshape(1, 1, batch * seq, hidden).float(), self.ttnn.bfloat16)
        out: dict[str, torch.Tensor] = {}
        layer(x, lambda attn, h: attn.prefill(h, batch, seq, cos, sin, mask),
              lambda name, t: out.__setitem__(name, self._capture_tensor(name, t, batch, seq)))
        return out

    def _capture_tensor(self, name: str, t, batch: int, seq: int) -> torch.Tensor:
        host = (self._host_logits(t) if name == "logits" else self.to_host(t)).reshape(batch, seq, -1)
        return host.long() if name in INTEGER_FIELDS else host

    def recorder(self, captures: Captures, phase: str, batch: int, seq: int):
        """record(layer_index | None) -> fn(name, device_tensor) storing into ``captures``."""
        target = captures.phase(phase)

        def for_layer(index):
            store = target.model if index is None else target.layer(index)
            return lambda name, t: store.__setitem__(name, self._capture_tensor(name, t, batch, seq))

        return for_layer

    def close(self):
        if self.device is not None:
            self.release_trace()
            close_mesh(self.ttnn, self.device, self.mesh)
            self.device = None


class DecodeInputs:
    """The device tensors one decode step reads: token ids [1, B] (uint32), rotary cos/sin [B, 1, 1, dh],
    one additive mask [B, 1, 1, cache_len] per attention window, and the cache slot of every user [B] (int32).
    Allocated once, then refilled in place from host tensors (copy_host_to_device_tensor) before every step."""

    FORMATS = {"tokens": ("uint32", "ROW_MAJOR_LAYOUT"), "cos": ("bfloat16", "TILE_LAYOUT"),
               "sin": ("bfloat16", "TILE_LAYOUT"), "slot": ("int32", "ROW_MAJOR_LAYOUT"),
               "mask": ("float32", "TILE_LAYOUT")}

    def __init__(self, tensors: dict):
        self.tensors = tensors
        self.tokens, self.cos, self.sin, self.slot = (tensors[k] for k in ("tokens", "cos", "sin", "slot"))
        self.masks = {key[1]: t for key, t in tensors.items() if isinstance(key, tuple)}

    @staticmethod
    def _host(model, key, value, device):
        ttnn = model.ttnn
        dtype, layout = DecodeInputs.FORMATS[key[0] if isinstance(key, tuple) else key]
        return ttnn.from_torch(value, dtype=getattr(ttnn, dtype), layout=getattr(ttnn, layout), device=device,
                               mesh_mapper=ttnn.ReplicateTensorToMesh(model.device))

    @classmethod
    def allocate(cls, model, host: dict) -> "DecodeInputs":
        return cls({key: cls._host(model, key, value, model.device) for key, value in host.items()})

    def refill(self, model, host: dict) -> None:
        for key, value in host.items():
            model.ttnn.copy_host_to_device_tensor(self._host(model, key, value, None), self.tensors[key])


def _check_inputs(token_ids, attention_mask):
    ids = torch.as_tensor(token_ids)
    if ids.dim() != 2 or ids.shape[1] == 0:
        raise UserError(f"token_ids must be [batch, seq] with seq >= 1, got shape {tuple(ids.shape)}")
    if attention_mask is None:
        return ids, torch.ones(ids.shape, dtype=torch.bool)
    mask = torch.as_tensor(attention_mask)
    if mask.shape != ids.shape:
        raise UserError(f"attention_mask shape {tuple(mask.shape)} does not match token_ids {tuple(ids.shape)}")
    return ids, mask.bool()


def _positions(valid: torch.Tensor) -> torch.Tensor:
    """Position ids that skip left padding (same convention as reference.runner.positions)."""
    return (valid.long().cumsum(-1) - 1).clamp(min=0)
