"""The one reader of a checkpoint's safetensors: name -> tensor over one file or a sharded index,
each shard opened once, memory-mapped and lazily, so a 120B checkpoint is never loaded whole."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ground.errors import UserError
from ground.mxfp4 import dequantize_mxfp4

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"


def weight_map(model_dir: Path) -> dict[str, str]:
    """Tensor name -> shard file name, from the index or the single file's header."""
    index = model_dir / INDEX
    if index.exists():
        try:
            mapping = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{index}: not a safetensors index ({type(exc).__name__}: {exc})") from None
        if not isinstance(mapping, dict):
            raise UserError(f"{index}: 'weight_map' is not a mapping")
        return mapping
    if (model_dir / SINGLE).exists():
        return {name: SINGLE for name in _open(model_dir / SINGLE).keys()}
    raise UserError(f"{model_dir} holds no {SINGLE} or {INDEX}; expected GPT-OSS weights")


def _open(path: Path):
    from safetensors import safe_open

    if not path.exists():
        raise UserError(f"{path}: weight file named by the checkpoint index does not exist")
    try:
        return safe_open(str(path), framework="pt")
    except Exception as exc:  # safetensors raises its own error types for a damaged header
        raise UserError(f"{path}: not a readable safetensors file ({exc})") from None


class TensorReader:
    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self.files = weight_map(model_dir)
        self._handles: dict[str, object] = {}

    def shard_files(self) -> list[Path]:
        return [self.model_dir / name for name in sorted(set(self.files.values()))]

    def _handle(self, name: str):
        if name not in self.files:
            raise UserError(f"checkpoint {self.model_dir} lacks tensor {name!r}")
        file = self.files[name]
        if file not in self._handles:
            self._handles[file] = _open(self.model_dir / file)
        return self._handles[file]

    def release(self) -> None:
        """Unmaps every open shard. Tensors read so far are views of those maps, and the pages they touched
        count in this process's RSS while the maps live (a pass over a 20B lm_head adds about 1 GB); a
        caller that keeps only copies calls this to return them. The next read reopens the shard (a header
        parse, well under a millisecond)."""
        self._handles.clear()

    def has(self, name: str) -> bool:
        return name in self.files

    def names(self, prefix: str) -> list[str]:
        return [n for n in self.files if n.startswith(prefix)]

    def shape(self, name: str) -> list[int]:
        """From the header alone (no data read)."""
        return self._handle(name).get_slice(name).get_shape()

    def get(self, name: str) -> torch.Tensor:
        """As stored (bfloat16, uint8 ...)."""
        return self._handle(name).get_tensor(name)

    def get_row(self, name: str, row: int) -> torch.Tensor:
        """One row of the first dimension, read without loading the tensor (embedding rows, one expert)."""
        return self._handle(name).get_slice(name)[row]

    def float(self, name: str) -> torch.Tensor:
        return self.get(name).float()

    def expert_row(self, prefix: str, leaf: str, expert: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One expert's weight [in, out], read and dequantized alone (the reference's lazy experts)."""
        if self.has(f"{prefix}.{leaf}_blocks"):
            blocks = self.get_row(f"{prefix}.{leaf}_blocks", expert)
            scales = self.get_row(f"{prefix}.{leaf}_scales", expert)
            return dequantize_mxfp4(blocks, scales, dtype).T  # on disk [out, in]
        return self.get_row(f"{prefix}.{leaf}", expert).to(dtype)
