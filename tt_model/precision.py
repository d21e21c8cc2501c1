"""Device precision, as the model runs on Wormhole; printed by the reports."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ground.errors import UserError

WEIGHT_DTYPES = ("bfloat16", "bfloat8_b", "bfloat4_b")
FIDELITIES = ("LoFi", "HiFi2", "HiFi3", "HiFi4")


@dataclass(frozen=True)
class Precision:
    attention_weights: str = "bfloat8_b"
    lm_head_weights: str = "bfloat8_b"
    expert_weights: str = "bfloat4_b"
    router_weights: str = "bfloat16"
    activations: str = "bfloat16"
    kv_cache: str = "bfloat16"
    matmul_fidelity: str = "HiFi2"
    router_fidelity: str = "HiFi4"
    router_fp32_acc: bool = True

    def __post_init__(self):
        for name in ("attention_weights", "lm_head_weights", "expert_weights", "router_weights"):
            if getattr(self, name) not in WEIGHT_DTYPES:
                raise UserError(f"precision {name}={getattr(self, name)!r}; expected one of {', '.join(WEIGHT_DTYPES)}")
        for name in ("matmul_fidelity", "router_fidelity"):
            if getattr(self, name) not in FIDELITIES:
                raise UserError(f"precision {name}={getattr(self, name)!r}; expected one of {', '.join(FIDELITIES)}")

    def as_dict(self) -> dict:
        return asdict(self)

    def dtype(self, ttnn, name: str):
        return getattr(ttnn, getattr(self, name))

    def kernel_config(self, ttnn, router: bool = False):
        fidelity = self.router_fidelity if router else self.matmul_fidelity
        return ttnn.WormholeComputeKernelConfig(
            math_fidelity=getattr(ttnn.MathFidelity, fidelity), math_approx_mode=False,
            fp32_dest_acc_en=self.router_fp32_acc if router else True, packer_l1_acc=True)


PRESETS = {
    "default": Precision(),
    "bf8_experts": Precision(expert_weights="bfloat8_b"),
}


def resolve_precision(spec: str | Precision | dict | None) -> Precision:
    if spec is None:
        return Precision()
    if isinstance(spec, Precision):
        return spec
    if isinstance(spec, dict):
        return Precision(**spec)
    if spec not in PRESETS:
        raise UserError(f"precision {spec!r} is not known; expected one of {', '.join(PRESETS)}")
    return PRESETS[spec]
