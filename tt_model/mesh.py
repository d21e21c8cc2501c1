"""Mesh shape and device opening, following tt-metal's MESH_DEVICE convention.

Tensor parallel runs over mesh columns (cluster_axis=1), expert parallel over mesh rows (cluster_axis=0),
as in tt-metal's models/demos/gpt_oss.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from bench.errors import UserError

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
        spec = os.environ.get("MESH_DEVICE") or "1x1"
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
              ("num_local_experts", cfg.num_local_experts, mesh.rows)]
    for name, value, parts in checks:
        if value % parts:
            raise UserError(f"mesh {mesh}: {name}={value} does not split over {parts} devices")


def open_mesh(ttnn, mesh: MeshConfig):
    return ttnn.open_mesh_device(ttnn.MeshShape(mesh.rows, mesh.cols))
