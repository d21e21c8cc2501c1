"""A GPT-OSS checkpoint that exists only as its config.json: the interface of ``ground.checkpoint.Checkpoint``
that the model code reads (config, tensors, identity, hashes) with every tensor a meta tensor of its published
shape, so the full-size 20B / 120B model runs its own code on the emulator's shape-only meshes (shapes and dtypes,
no values) and the modelled op sequence is exactly what the real model issues.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from ground.config import ModelConfig
from ground.layout import expected_shapes, expert_shapes


class MetaTensorReader:
    """``ground.tensors.TensorReader``'s reading methods, answering with meta tensors of the HF layout's shapes."""

    def __init__(self, config: ModelConfig):
        self.shapes = expected_shapes(config)  # the published layout, as ground checks real checkpoints
        for layer in range(config.num_hidden_layers):
            self.shapes.update(expert_shapes(config, layer, mxfp4=False))

    def has(self, name: str) -> bool:
        return name in self.shapes

    def float(self, name: str) -> torch.Tensor:
        return torch.empty(self.shapes[name], dtype=torch.float32, device="meta")

    def get(self, name: str) -> torch.Tensor:
        """As stored: the published layout keeps every dense tensor in bfloat16."""
        return torch.empty(self.shapes[name], dtype=torch.bfloat16, device="meta")

    def expert_row(self, prefix: str, leaf: str, expert: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.empty(self.shapes[f"{prefix}.{leaf}"][1:], dtype=dtype, device="meta")

    def shard_files(self) -> list[Path]:
        return []

    def release(self) -> None:
        """Nothing is mapped: meta tensors have no storage."""


class ShapeOnlyCheckpoint:
    """``name``: how provenance names it (e.g. "120b"); ``raw``: the config.json dict."""

    shape_only = True

    def __init__(self, raw: dict, name: str):
        self.config_bytes = json.dumps(raw, sort_keys=True).encode()
        self.config = ModelConfig.from_dict(raw, f"{name} preset config")
        self.path = Path(f"<shape-only {name}>")
        self.name = name
        self.tensors = MetaTensorReader(self.config)

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(self.config_bytes).hexdigest()[:16]

    @property
    def identity(self) -> str:
        """Shape-only models are named by their config alone: there are no weights to hash."""
        return f"shape-only-{self.config_hash}"

    def hf_config(self, quantized: bool = False):
        return self.config.hf_config(quantized)
