"""Mesh shape and device opening, following tt-metal's MESH_DEVICE convention.

Tensor parallel runs over mesh columns (cluster_axis=1), expert parallel over mesh rows (cluster_axis=0),
as in tt-metal's models/demos/gpt_oss.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ground.errors import UserError
from ground.settings import settings

# tt-metal's MESH_DEVICE names -> (rows, cols).
NAMED_MESHES = {"N150": (1, 1), "P150": (1, 1), "N300": (1, 2), "T3K": (1, 8), "TG": (4, 8)}
TP_AXIS = 1  # columns
EP_AXIS = 0  # rows


@dataclass(frozen=True)
class MeshConfig:
    rows: int
    cols: int

    @property
    def tp(self) -> int:
        return self.cols

    @property
    def ep(self) -> int:
        return self.rows

    @property
    def num_devices(self) -> int:
        return self.rows * self.cols

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}"


def parse_mesh(spec: str | tuple[int, int] | MeshConfig | None) -> MeshConfig:
    """"RxC", a tt-metal name (N150, N300, T3K, TG), or None for $MESH_DEVICE (default 1x1)."""
    if isinstance(spec, MeshConfig):
        return spec
    if isinstance(spec, tuple):
        rows, cols = spec
        return MeshConfig(int(rows), int(cols))
    if spec is None:
        spec = settings().mesh_device or "1x1"
    text = str(spec).strip()
    if text.upper() in NAMED_MESHES:
        return MeshConfig(*NAMED_MESHES[text.upper()])
    match = re.fullmatch(r"(\d+)[xX](\d+)", text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise UserError(f"mesh {text!r} is not understood; expected 'RxC' (e.g. 1x8, 4x8) or one of "
                        f"{', '.join(NAMED_MESHES)}")
    return MeshConfig(int(match.group(1)), int(match.group(2)))


def check_divisibility(mesh: MeshConfig, cfg) -> None:
    """Heads and expert intermediate split over columns, experts over rows: each must divide evenly."""
    checks = [("num_attention_heads", cfg.num_attention_heads, mesh.cols),
              ("num_key_value_heads", cfg.num_key_value_heads, mesh.cols),
              ("intermediate_size", cfg.intermediate_size, mesh.cols),
              ("num_local_experts", cfg.num_local_experts, mesh.rows),
              ("vocab_size", cfg.vocab_size, mesh.cols)]
    for name, value, parts in checks:
        if value % parts:
            raise UserError(f"mesh {mesh}: {name}={value} does not split over {parts} devices")


# How tt-metal opens GPT-OSS meshes: models/demos/gpt_oss/tests/test_factory.py, parametrize_mesh_with_fabric
# (used by demo/text_demo.py and tests/accuracy/test_model.py), turned into open_mesh_device by the root
# conftest.py mesh_device fixture (set_fabric, open, close, reset_fabric):
#   (1, 8) LoudBox/T3K and (4, 8) Galaxy: fabric_config FABRIC_1D_RING, trace_region_size 100000000
#   (1, 1): no fabric (nothing to ring around; fabric needs every device of the system open)
# No l1_small_size and no num_command_queues are passed, so both keep the ttnn defaults
# (ttnn.device.DEFAULT_L1_SMALL_SIZE = 0, 1 queue): CCL semaphores go to L1, not L1_SMALL.
# set_fabric passes STRICT_INIT / no plane limit / FabricTensixConfig.DISABLED (Wormhole default).
GPT_OSS_FABRIC = "FABRIC_1D_RING"
GPT_OSS_TRACE_REGION_SIZE = 100_000_000
GPT_OSS_L1_SMALL_SIZE = 0
GPT_OSS_NUM_COMMAND_QUEUES = 1


def open_mesh(ttnn, mesh: MeshConfig):
    """Sets the fabric (multi-device meshes only) and opens the mesh as tt-metal's gpt_oss tests do."""
    if mesh.num_devices > 1:
        ttnn.set_fabric_config(getattr(ttnn.FabricConfig, GPT_OSS_FABRIC), ttnn.FabricReliabilityMode.STRICT_INIT,
                               None, ttnn.FabricTensixConfig.DISABLED)
    return ttnn.open_mesh_device(ttnn.MeshShape(mesh.rows, mesh.cols), l1_small_size=GPT_OSS_L1_SMALL_SIZE,
                                 trace_region_size=GPT_OSS_TRACE_REGION_SIZE,
                                 num_command_queues=GPT_OSS_NUM_COMMAND_QUEUES)


def close_mesh(ttnn, device, mesh: MeshConfig) -> None:
    """Closes the mesh, then resets the fabric if open_mesh set one (tt-metal conftest reset_fabric)."""
    ttnn.close_mesh_device(device)
    if mesh.num_devices > 1:
        ttnn.set_fabric_config(ttnn.FabricConfig.DISABLED)
