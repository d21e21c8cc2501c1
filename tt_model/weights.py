"""Checkpoint loading (published HF layout, MXFP4 experts) and conversion to device tensors.

Converted tensors go through ``ttnn.as_tensor(cache_file_name=...)`` under ``$TT_CACHE_PATH`` (tt-metal's
convention), keyed by checkpoint config hash + precision + mesh, so a second load on hardware skips the
tilize/block-float conversion.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from bench.errors import UserError
from reference.mxfp4 import dequantize_expert_weight


class CheckpointReader:
    """Lazy reader over ``model.safetensors`` or a sharded index; returns float32 torch tensors."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        index = self.model_dir / "model.safetensors.index.json"
        if index.exists():
            self.files = json.loads(index.read_text())["weight_map"]
        elif (self.model_dir / "model.safetensors").exists():
            from safetensors import safe_open

            with safe_open(str(self.model_dir / "model.safetensors"), framework="pt") as f:
                self.files = {k: "model.safetensors" for k in f.keys()}
        else:
            raise UserError(f"{str(self.model_dir)!r} holds no model.safetensors(.index.json)")
        self._open: dict[str, object] = {}

    def _handle(self, file: str):
        if file not in self._open:
            from safetensors import safe_open

            self._open[file] = safe_open(str(self.model_dir / file), framework="pt")
        return self._open[file]

    def has(self, name: str) -> bool:
        return name in self.files

    def get(self, name: str) -> torch.Tensor:
        if name not in self.files:
            raise UserError(f"checkpoint {str(self.model_dir)!r} lacks tensor {name!r}")
        return self._handle(self.files[name]).get_tensor(name).float()

    def expert_weight(self, prefix: str, leaf: str) -> torch.Tensor:
        """HF in-memory expert weight [E, in, out] in float32, dequantized from MXFP4 when stored so."""
        if self.has(f"{prefix}.{leaf}_blocks"):
            blocks = self._handle(self.files[f"{prefix}.{leaf}_blocks"]).get_tensor(f"{prefix}.{leaf}_blocks")
            scales = self._handle(self.files[f"{prefix}.{leaf}_scales"]).get_tensor(f"{prefix}.{leaf}_scales")
            return dequantize_expert_weight(blocks, scales)
        return self.get(f"{prefix}.{leaf}")


def cache_dir(model_dir: str | Path, precision, mesh) -> Path | None:
    """$TT_CACHE_PATH/gptoss-bench/<config hash>_<expert dtype>_<attn dtype>_<mesh>, or None when unset."""
    root = os.environ.get("TT_CACHE_PATH")
    if not root:
        return None
    from reference.checkpoint import config_hash

    key = f"{config_hash(model_dir)}_{precision.expert_weights}_{precision.attention_weights}_{mesh}"
    path = Path(root) / "gptoss-bench" / key
    path.mkdir(parents=True, exist_ok=True)
    return path


class DeviceWeights:
    """Places torch tensors on the mesh: replicated, or sharded over (rows, cols) like tt-metal's
    ``ShardTensor2dMesh(dims=(row_dim, col_dim))``."""

    def __init__(self, ttnn, device, mesh, cache: Path | None):
        self.ttnn, self.device, self.mesh, self.cache = ttnn, device, mesh, cache

    def put(self, tensor: torch.Tensor, name: str, dtype, *, rows=None, cols=None, layout=None):
        ttnn = self.ttnn
        layout = ttnn.TILE_LAYOUT if layout is None else layout
        if rows is None and cols is None:
            mapper = ttnn.ReplicateTensorToMesh(self.device)
        else:
            mapper = ttnn.ShardTensor2dMesh(self.device, mesh_shape=(self.mesh.rows, self.mesh.cols), dims=(rows, cols))
        cache_file = str(self.cache / name) if self.cache is not None else None
        return ttnn.as_tensor(tensor.contiguous(), dtype=dtype, layout=layout, device=self.device,
                              memory_config=ttnn.DRAM_MEMORY_CONFIG, mesh_mapper=mapper, cache_file_name=cache_file)
