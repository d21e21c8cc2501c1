"""The Wormhole cost model: a modelled DEVICE KERNEL DURATION for one op record (``tt_model.emulator.records.
OpRecord``, filled by the emulator or read from a profiler CSV), from what the op moves and computes.

    roofline = max(DRAM bytes / DRAM bandwidth,  FLOPs / (per-core peak at its fidelity x cores))
    kernel   = latency[class] + roofline / efficiency[class]          (CCLs: the link model below)
    device   = kernel + dispatch overhead                               (0 when replayed from a trace)

A pure roofline is far too optimistic for small, untuned ops, so each op class carries a fixed latency and an
efficiency fitted on real Wormhole measurements (``bench.calibrate`` over tenstorrent/tt-perf-report's
wh_clip_encoder_2.csv). CCLs: per algorithm step, step bytes / (links x link bandwidth) + one hop latency; a Ring
(with its wrap-around link) splits the steps over both directions, a Linear chain cannot.

Every constant lives in ``wormhole_costs.yaml`` beside this file with its source; ``CostModel.load(FILE)``
overrides any subset (another chip, a measured bandwidth). The model reads records as plain data and never
touches tensors, so it prices emulated runs and real profiler rows alike.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from ground.errors import UserError

DEFAULTS = Path(__file__).with_name("wormhole_costs.yaml")
TILE = 32
# Bytes per element as stored on device; block floats carry one shared exponent byte per 16 elements.
ELEMENT_BYTES = {"BFLOAT16": 2.0, "FLOAT32": 4.0, "UINT32": 4.0, "INT32": 4.0, "UINT16": 2.0, "UINT8": 1.0,
                 "BFLOAT8_B": 1.0 + 1 / 16, "BFLOAT4_B": 0.5 + 1 / 16}

# ttnn's elementwise binary ops: one op class here, one profiler op code (BinaryNg...) in bench.profiler_csv
BINARY_OPS = frozenset({"add", "sub", "mul", "div", "multiply", "subtract", "divide", "maximum", "minimum", "eq", "ne",
                        "gt", "ge", "lt", "le", "where"})
# ttnn op names (emulator) and profiler OP CODE fragments -> op class. Matmuls are split further by config.
_BY_NAME = {
    **{n: "binary" for n in BINARY_OPS},
    **{n: "unary" for n in ("neg", "abs", "silu", "relu", "tanh", "square", "sqrt", "rsqrt", "reciprocal", "exp",
                            "log", "cos", "sin", "gelu", "sigmoid", "clamp", "typecast", "zeros_like", "ones_like",
                            "clone")},
    **{n: "transpose" for n in ("permute", "transpose")},
    **{n: "data_movement" for n in ("slice", "concat", "pad", "repeat", "repeat_interleave", "scatter",
                                    "to_memory_config")},
    **{n: "reduce" for n in ("sum", "mean", "max", "min", "argmax")},
    **{n: "kv_cache" for n in ("update_cache", "fill_cache", "paged_update_cache", "paged_fill_cache")},
    "topk": "topk", "softmax": "softmax", "rms_norm": "norm", "embedding": "embedding", "to_layout": "tilize",
    "scaled_dot_product_attention": "sdpa", "scaled_dot_product_attention_decode": "sdpa",
    "all_gather": "ccl", "reduce_scatter": "ccl", "all_reduce": "ccl",
}
_BY_CODE = (  # first match wins: MinimalMatmul before Matmul
    ("MinimalMatmul", "matmul_configured"), ("Matmul", "matmul"), ("BinaryNg", "binary"), ("Binary", "binary"),
    ("Unary", "unary"), ("Typecast", "unary"), ("LayerNorm", "norm"), ("RMSNorm", "norm"), ("Softmax", "softmax"),
    ("Transpose", "transpose"), ("Permute", "transpose"), ("Reshape", "reshape"), ("Embedding", "embedding"),
    ("Tilize", "tilize"), ("Untilize", "tilize"), ("AllGather", "ccl"), ("ReduceScatter", "ccl"),
    ("AllReduce", "ccl"), ("UpdateCache", "kv_cache"), ("FillCache", "kv_cache"), ("TopK", "topk"),
    ("ArgMax", "reduce"), ("Reduce", "reduce"), ("ScaledDotProduct", "sdpa"), ("SDPA", "sdpa"),
    ("Slice", "data_movement"), ("Concat", "data_movement"), ("Pad", "data_movement"),
    ("Repeat", "data_movement"), ("Scatter", "data_movement"), ("Copy", "data_movement"),
)
_VIEWS = {"reshape", "squeeze", "unsqueeze"}
MATMULS = {"matmul", "linear"}


@dataclass(frozen=True)
class Cost:
    kernel_ns: float
    dispatch_ns: float
    op_class: str
    bound: str        # DRAM | compute | CCL | latency | view
    cores: int
    dram_ns: float = 0.0
    compute_ns: float = 0.0


def _value(entry):
    return entry["value"] if isinstance(entry, dict) and "value" in entry else entry


def _merge(base: dict, override: dict, where: str = "") -> dict:
    for key, value in override.items():
        if key not in base:
            raise UserError(f"cost model override: unknown key {where + key!r}; known: {', '.join(base)}")
        if isinstance(base[key], dict) and "value" not in base[key] and isinstance(value, dict):
            _merge(base[key], value, f"{where}{key}.")
        elif isinstance(base[key], dict) and "value" in base[key]:
            base[key] = {"value": _value(value), "source": value.get("source", "user override")
                         if isinstance(value, dict) else "user override"}
        else:
            base[key] = value
    return base


def tensor_bytes(t) -> float:
    return math.prod(t.shape) * ELEMENT_BYTES.get(t.dtype, 2.0)


def tiles(shape) -> int:
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    return max(1, math.ceil(rows / TILE) * math.ceil(shape[-1] / TILE)) if shape else 1


class CostModel:
    def __init__(self, data: dict):
        self.data = data
        chip = data["chip"]
        self.dram_bw = _value(chip["dram_bandwidth_gbps"]) * 1e9           # bytes / s
        self.clock_hz = _value(chip["clock_ghz"]) * 1e9
        self.max_cores = int(_value(chip["worker_cores"]))
        self.peak_per_core = {k: _value(v) * 1e12 for k, v in chip["tflops_per_core"].items()}
        self.dram_per_chip = _value(chip["dram_bytes"])
        eth = data["ethernet"]
        self.link_bw = _value(eth["link_gbps"]) * 1e9
        self.hop_ns = _value(eth["hop_latency_ns"])
        self.links = {k: int(_value(v)) for k, v in eth["links_between_neighbours"].items()}
        self.dispatch_ns = _value(data["dispatch"]["overhead_ns"])
        self.classes = data["classes"]
        self._cache: dict = {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, overrides: str | Path | dict | None = None) -> "CostModel":
        data = yaml.safe_load(DEFAULTS.read_text())
        if overrides is not None:
            if not isinstance(overrides, dict):
                path = Path(overrides)
                try:
                    overrides = yaml.safe_load(path.read_text()) or {}
                except OSError as exc:
                    raise UserError(f"--cost-model {str(path)!r}: cannot be read ({exc.strerror})") from None
                except yaml.YAMLError as exc:
                    raise UserError(f"--cost-model {str(path)!r}: not valid YAML: {str(exc).splitlines()[0]}") from None
                if not isinstance(overrides, dict):
                    raise UserError(f"--cost-model {str(path)!r}: expected a mapping of constants")
            data = _merge(copy.deepcopy(data), overrides)
        return cls(data)

    def constants(self) -> dict:
        """Every constant with its value and source, as reported in results."""
        return copy.deepcopy(self.data)

    # ------------------------------------------------------------------ classes
    def op_class(self, r) -> str:
        if r.ccl is not None:
            return "ccl"
        name = r.op
        if name in _VIEWS or name == "reshape":
            return "view" if self._is_view(r) else "reshape"
        if name in MATMULS or "Matmul" in name:
            if "MinimalMatmul" in name:
                return "matmul_configured"
            sharded = any(t.sharded for t in (*r.inputs, *r.outputs))
            if r.program_config:
                return "matmul_sharded" if sharded else "matmul_configured"
            batched = len(r.inputs) > 1 and math.prod(r.inputs[1].shape[:-2]) > 1
            return "matmul_batched" if batched else "matmul"
        if name in _BY_NAME:
            return _BY_NAME[name]
        for fragment, cls in _BY_CODE:
            if fragment in name:
                return cls
        return "other"

    @staticmethod
    def _is_view(r) -> bool:
        """A reshape that keeps the tile-padded last two dims only relabels pages: no kernel runs."""
        if not r.inputs or not r.outputs:
            return False
        a, b = r.inputs[0].shape, r.outputs[0].shape
        return a[-2:] == b[-2:] and r.inputs[0].layout == r.outputs[0].layout

    def cores(self, r, cls: str) -> int:
        if r.cores:
            return max(1, min(int(r.cores), self.max_cores))
        rule = self.classes.get(cls, {}).get("cores", "grid")
        out = r.outputs[0].shape if r.outputs else (r.inputs[0].shape if r.inputs else (TILE, TILE))
        if rule == "out_tiles":  # default matmul configs parallelise over the output tiles of one matrix
            n = math.ceil(out[-2] / TILE) * math.ceil(out[-1] / TILE) if len(out) >= 2 else 1
        elif rule == "tile_rows":  # default norms: one core per 32-row stick of tiles
            n = math.ceil(math.prod(out[:-1]) / TILE) if len(out) >= 2 else 1
        elif rule == "tiles":
            n = tiles(out)
        else:
            n = self.max_cores
        return max(1, min(n, self.max_cores))

    # ------------------------------------------------------------------ pricing
    def dram_bytes(self, r, cls: str = "") -> float:
        if r.dram_bytes is not None:
            return r.dram_bytes
        if cls == "embedding" and len(r.inputs) >= 2 and r.outputs:
            # a lookup reads the ids and only the rows it gathers, not the whole table
            ids, out = r.inputs[0], r.outputs[0]
            return sum(tensor_bytes(t) for t in (ids, out) if t.buffer == "DRAM") + tensor_bytes(out)
        return sum(tensor_bytes(t) for t in (*r.inputs, *r.outputs) if t.buffer == "DRAM")

    def flops(self, r, cls: str) -> float:
        if r.flops:
            return r.flops
        if cls.startswith("matmul") and len(r.inputs) >= 2:
            a, b = r.inputs[0].shape, r.inputs[1].shape
            batch = max(math.prod(a[:-2]), math.prod(b[:-2])) if len(a) > 2 else 1
            return 2.0 * batch * a[-2] * a[-1] * b[-1]
        return 0.0

    def peak(self, fidelity: str | None) -> float:
        return self.peak_per_core.get(fidelity or "HiFi4", self.peak_per_core["HiFi4"])

    def price(self, r) -> Cost:
        key = (r.op, r.inputs, r.outputs, r.mesh, r.math_fidelity, r.program_config, r.flops, r.dram_bytes, r.ccl,
               r.cores)
        cost = self._cache.get(key)
        if cost is None:
            cost = self._cache[key] = self._price(r)
        return cost

    def _price(self, r) -> Cost:
        cls = self.op_class(r)
        if cls == "view":
            return Cost(0.0, 0.0, cls, "view", 0)
        if cls == "ccl":
            return self._ccl(r)
        cores = self.cores(r, cls)
        dram_ns = self.dram_bytes(r, cls) / self.dram_bw * 1e9
        compute_ns = self.flops(r, cls) / (self.peak(r.math_fidelity) * cores) * 1e9
        params = self.classes.get(cls) or self.classes["other"]
        latency, efficiency = _value(params["latency_ns"]), _value(params["efficiency"])
        roofline = max(dram_ns, compute_ns)
        kernel = latency + roofline / efficiency
        bound = "latency" if latency > roofline / efficiency else ("DRAM" if dram_ns >= compute_ns else "compute")
        return Cost(kernel, self.dispatch_ns, cls, bound, cores, dram_ns, compute_ns)

    def mesh_links(self, mesh) -> int:
        name = f"{mesh[0]}x{mesh[1]}" if mesh else "1x1"
        return self.links.get(name, self.links["default"])

    def ccl_steps(self, kind: str, group: int, topology: str) -> tuple[int, float]:
        """(algorithm steps, fraction of one device's tensor moved per step)."""
        if group <= 1:
            return 0, 0.0
        ring = topology in ("Ring", "Torus")
        steps = math.ceil((group - 1) / 2) if ring else group - 1  # a ring sends both ways round
        if kind == "all_gather":
            return steps, 1.0
        if kind == "reduce_scatter":
            return steps, 1.0 / group
        return 2 * steps, 1.0 / group  # all_reduce = reduce_scatter + all_gather

    def _ccl(self, r) -> Cost:
        info = r.ccl
        steps, fraction = self.ccl_steps(info.kind, info.group, info.topology)
        if steps == 0:
            return Cost(0.0, 0.0, "ccl", "CCL", 0)
        links = self.mesh_links(r.mesh)
        if info.links:
            links = min(links, int(info.links))
        shard = tensor_bytes(r.inputs[0]) if r.inputs else 0.0
        step_ns = shard * fraction / (links * self.link_bw) * 1e9 + self.hop_ns
        return Cost(steps * step_ns, self.dispatch_ns, "ccl", "CCL", links)
