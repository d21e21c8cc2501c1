"""Conversion of checkpoint tensors to device tensors, and the converted-weight cache.

Converted tensors go through ``ttnn.as_tensor(cache_file_name=...)`` (tt-metal's convention), under a
directory keyed by the checkpoint's content identity, the whole precision and the mesh: a retrained
checkpoint, another lm_head or router dtype, or another mesh never reuses stale converted weights.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from ground.checkpoint import Checkpoint


def cache_dir(root: Path | None, checkpoint: Checkpoint, precision, mesh) -> Path | None:
    """<root>/gptoss-bench/<identity>-<precision digest>-<mesh>, or None when there is no cache root."""
    if root is None:
        return None
    precision_key = hashlib.sha256(json.dumps(precision.as_dict(), sort_keys=True).encode()).hexdigest()[:12]
    path = Path(root) / "gptoss-bench" / f"{checkpoint.identity}-{precision_key}-{mesh}"
    path.mkdir(parents=True, exist_ok=True)
    return path


TILE = 32


def tile_padded(size: int, parts: int) -> int:
    """Per-device width of ``size`` split over ``parts`` devices, rounded up to whole tiles
    (2880 / 8 = 360 -> 384, 201088 / 8 = 25136 -> 25152), as tt-metal pads its shards."""
    return -(-(size // parts) // TILE) * TILE


def pad_shards(tensor: torch.Tensor, dim: int, parts: int) -> torch.Tensor:
    """Zero-pads each of the ``parts`` equal chunks of ``dim`` to ``tile_padded`` so that a mesh split of
    ``dim`` gives every device whole tiles; a no-op when the chunks already are."""
    size = tensor.shape[dim]
    width = tile_padded(size, parts)
    if width * parts == size:
        return tensor
    chunks = tensor.movedim(dim, -1).reshape(*tensor.movedim(dim, -1).shape[:-1], parts, size // parts)
    padded = torch.nn.functional.pad(chunks, (0, width - size // parts))
    return padded.reshape(*chunks.shape[:-2], parts * width).movedim(-1, dim).contiguous()


def unpad_shards(tensor: torch.Tensor, size: int, parts: int) -> torch.Tensor:
    """Inverse of ``pad_shards`` on the last dim of a gathered result: drops each device's padding."""
    width = tensor.shape[-1] // parts
    if width * parts == size:
        return tensor
    return tensor.reshape(*tensor.shape[:-1], parts, width)[..., : size // parts].reshape(*tensor.shape[:-1], size)


class DeviceWeights:
    """Places torch tensors on the mesh: replicated, or sharded over (rows, cols) like tt-metal's
    ``ShardTensor2dMesh(dims=(row_dim, col_dim))``."""

    def __init__(self, ttnn, device, mesh, cache: Path | None):
        self.ttnn, self.device, self.mesh, self.cache = ttnn, device, mesh, cache

    def put(self, tensor: torch.Tensor, name: str, dtype, *, rows=None, cols=None, layout=None):
        """``cols``: the dim split over mesh columns; when it is one of a tiled tensor's last two dims,
        each device's part is zero-padded to whole tiles (``pad_shards``). ``rows`` splits experts,
        never a tile dim."""
        ttnn = self.ttnn
        layout = ttnn.TILE_LAYOUT if layout is None else layout
        if cols is not None and layout == ttnn.TILE_LAYOUT and cols % tensor.dim() >= tensor.dim() - 2:
            tensor = pad_shards(tensor, cols, self.mesh.cols)
        if rows is None and cols is None:
            mapper = ttnn.ReplicateTensorToMesh(self.device)
        else:
            mapper = ttnn.ShardTensor2dMesh(self.device, mesh_shape=(self.mesh.rows, self.mesh.cols), dims=(rows, cols))
        cache_file = str(self.cache / name) if self.cache is not None else None
        return ttnn.as_tensor(tensor.contiguous(), dtype=dtype, layout=layout, device=self.device,
                              memory_config=ttnn.DRAM_MEMORY_CONFIG, mesh_mapper=mapper, cache_file_name=cache_file)
