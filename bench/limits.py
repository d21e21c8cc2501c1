"""The physical limit of a model / mesh / batch / sequence point on Wormhole, and the tier of a measured point.

Decode: a step must at least read, once, in their device dtypes: the attention weights, the router, the experts
the batch actually routes to (the expected number of distinct experts when ``batch`` tokens each pick top-k of E
uniformly, E (1 - (1 - k/E)^batch)), the lm_head, the norms, the embedding rows and
every user's KV cache up to its position (sliding layers: the window). Lower bound = those bytes / the mesh's
aggregate DRAM bandwidth (devices x 288 GB/s). Prefill: the larger of its FLOP bound (2 x the weights each token
uses + attention scores, at the matmul fidelity's peak on every core of the mesh) and reading every weight once.

A time is reported as % of its limit (limit / time x 100: 100 % would be the hardware's best), per op category
and in total. Tiers follow tt-inference-server (workflows/model_spec.py): functional 10 %, complete 50 %,
target 100 % of its hand-typed theoretical targets (TTFT target = theoretical / fraction, t/s/u target =
theoretical x fraction); a model / mesh without a published target is graded against this module's limit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tt_model.costmodel import ELEMENT_BYTES, CostModel

TIERS = (("target", 1.0), ("complete", 0.5), ("functional", 0.1))
# tt-inference-server theoretical targets at ISL/OSL 128/128 (wormhole.md, "Reference figures"); keyed by the
# published model (layers, experts) and mesh. 120B on Galaxy is published at concurrency 128 only.
TARGETS = {
    ("20b", "1x8"): {"ttft_ms": 18.0, "tokens_per_s_per_user": 131.0, "source": "tt-inference-server: 20B on T3K"},
    ("120b", "1x8"): {"ttft_ms": 51.0, "tokens_per_s_per_user": 27.0, "source": "tt-inference-server: 120B on T3K"},
    ("20b", "4x8"): {"ttft_ms": 9.0, "tokens_per_s_per_user": 507.0, "source": "tt-inference-server: 20B on Galaxy"},
    ("120b", "4x8"): {"ttft_ms": 256.0, "tokens_per_s_per_user": 27.5,
                      "source": "tt-inference-server: 120B on Galaxy at concurrency 128"},
    ("20b", "1x2"): {"ttft_ms": 41.0, "tokens_per_s_per_user": 33.0, "source": "tt-inference-server: 20B on n300"},
}
PUBLISHED = {(24, 32, 2880): "20b", (36, 128, 2880): "120b"}


def published_name(config) -> str | None:
    return PUBLISHED.get((config.num_hidden_layers, config.num_local_experts, config.hidden_size))


@dataclass
class Limit:
    decode_s: float                      # lower bound of one decode step
    prefill_s: float                     # lower bound of the prefill of the whole batch
    decode_bytes: dict[str, float]       # per category, whole mesh
    decode_category_s: dict[str, float] = field(default_factory=dict)

    def pct(self, seconds: float, limit: float) -> float | None:
        return 100.0 * limit / seconds if seconds and seconds > 0 else None


def _bytes(elements: float, dtype: str) -> float:
    return elements * ELEMENT_BYTES[dtype.upper()]


def experts_touched(experts: int, k: int, tokens: int) -> float:
    return experts * (1.0 - (1.0 - k / experts) ** tokens)


def physical_limit(config, precision, devices: int, batch: int, isl: int, osl: int,
                   model: CostModel | None = None) -> Limit:
    model = model or CostModel.load()
    c = config
    h, hd, nh, nkv = c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads
    e, k, inter, layers = c.num_local_experts, c.num_experts_per_tok, c.intermediate_size, c.num_hidden_layers
    attn_w = h * nh * hd * 2 + h * nkv * hd * 2                      # q, o + k, v
    expert_w = 3 * h * inter                                          # gate, up, down
    touched = experts_touched(e, k, batch)
    context = isl + osl / 2                                           # mean position over the decode steps
    kv_positions = sum(min(context, c.sliding_window) if c.is_sliding(i) else context for i in range(layers))
    decode = {
        "attention": layers * (_bytes(attn_w, precision.attention_weights) + _bytes((nh + 2 * nkv) * hd + h, "bfloat16"))
        + _bytes(2 * kv_positions * nkv * hd * batch, precision.kv_cache),
        "experts": layers * touched * (_bytes(expert_w, precision.expert_weights) + _bytes(2 * inter + h, "bfloat16")),
        "router": layers * _bytes(e * h, precision.router_weights),
        "norms": _bytes((2 * layers + 1) * h, "bfloat16"),
        "lm_head": _bytes(c.vocab_size * h, precision.lm_head_weights),
        "embedding": _bytes(batch * h, "bfloat16"),
    }
    bandwidth = devices * model.dram_bw
    category_s = {name: b / bandwidth for name, b in decode.items()}
    # prefill: every token through attention, router, its top-k experts; the lm_head for each user's last token
    tokens = batch * isl
    per_token = attn_w + e * h + k * expert_w
    scores = sum(2 * 2 * nh * hd * (min(isl, c.sliding_window) if c.is_sliding(i) else isl) * isl / 2
                 for i in range(layers)) * batch
    flops = 2.0 * tokens * per_token * layers + scores + 2.0 * batch * c.vocab_size * h
    peak = devices * model.max_cores * model.peak(precision.matmul_fidelity)
    weights = layers * (_bytes(attn_w, precision.attention_weights) + _bytes(e * expert_w, precision.expert_weights)
                        + _bytes(e * h, precision.router_weights)) + _bytes(c.vocab_size * h, precision.lm_head_weights)
    prefill = max(flops / peak, weights / bandwidth)
    return Limit(sum(category_s.values()), prefill, decode, category_s)


def targets(config, mesh: str, limit: Limit, batch: int) -> dict:
    """Theoretical TTFT (ms) and t/s/u a run is graded against: tt-inference-server's where published."""
    published = TARGETS.get((published_name(config), mesh))
    if published is not None:
        return dict(published)
    return {"ttft_ms": limit.prefill_s / batch * 1e3, "tokens_per_s_per_user": 1.0 / limit.decode_s,
            "source": "this project's physical limit (no published target for this model and mesh)"}


def tier(ttft_ms: float, tokens_per_s_per_user: float, goal: dict) -> str:
    """The highest tier whose TTFT and t/s/u targets both hold, else "below functional"."""
    for name, fraction in TIERS:
        if ttft_ms <= goal["ttft_ms"] / fraction and tokens_per_s_per_user >= goal["tokens_per_s_per_user"] * fraction:
            return name
    return "below functional"


def kv_cache_bytes_per_device(config, precision, mesh_cols: int, batch: int, length: int) -> float:
    """The KV caches this model allocates on one device: every layer, K and V, its kv heads, ``length`` slots."""
    heads = max(1, config.num_key_value_heads // mesh_cols)
    return 2 * config.num_hidden_layers * _bytes(batch * heads * length * config.head_dim, precision.kv_cache)


def weight_bytes_per_device(config, precision, mesh_rows: int, mesh_cols: int) -> float:
    c = config
    attn = _bytes((c.hidden_size * c.num_attention_heads * c.head_dim * 2
                   + c.hidden_size * c.num_key_value_heads * c.head_dim * 2) / mesh_cols, precision.attention_weights)
    experts = _bytes(3 * c.hidden_size * c.intermediate_size * c.num_local_experts / (mesh_rows * mesh_cols),
                     precision.expert_weights)
    router = _bytes(c.num_local_experts * c.hidden_size, precision.router_weights)
    head = _bytes(c.vocab_size * c.hidden_size / mesh_cols, precision.lm_head_weights)
    embed = _bytes(c.vocab_size * c.hidden_size, "bfloat16")
    return c.num_hidden_layers * (attn + experts + router) + head + embed


def check_capacity(config, precision, mesh, batch: int, length: int, model: CostModel | None = None) -> None:
    """Raises UserError when weights + KV caches of ``batch`` users x ``length`` slots do not fit one chip's DRAM."""
    from ground.errors import UserError

    model = model or CostModel.load()
    weights = weight_bytes_per_device(config, precision, mesh.rows, mesh.cols)
    cache = kv_cache_bytes_per_device(config, precision, mesh.cols, batch, length)
    if weights + cache > model.dram_per_chip:
        room = max(0.0, model.dram_per_chip - weights)
        per_user = kv_cache_bytes_per_device(config, precision, mesh.cols, 1, length)
        raise UserError(f"--batch {batch}: the KV cache for {batch} users x {length} slots needs "
                        f"{cache / 2**30:.1f} GiB per device beside {weights / 2**30:.1f} GiB of weights, more than "
                        f"the {model.dram_per_chip / 2**30:.0f} GiB of DRAM; at most {int(room // per_user)} users fit "
                        f"on mesh {mesh}")
