"""On-disk cache of reference captures (tt-metal's ``.refpt`` idea, generalised).

The key hashes everything that determines the captures: the checkpoint's content identity
(config, weights, tokenizer bytes), the reference mode, the input tokens and mask, the decode
plan, the dtype, and the torch / transformers versions.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from ground.captures import Captures
from ground.checkpoint import Checkpoint
from ground.settings import settings

CAPTURE_SCHEMA = "3"  # 2: fed tokens stored as tensors; 3: forced decode tokens in one pass


def cache_dir() -> Path:
    return settings().cache / "refcache"


def _tensor_digest(tensor: torch.Tensor | None) -> str | None:
    if tensor is None:
        return None
    t = tensor.detach().cpu().contiguous()
    return hashlib.sha256(str((t.dtype, tuple(t.shape))).encode() + t.numpy().tobytes()).hexdigest()


def cache_key(checkpoint: Checkpoint, mode: str, input_ids, attention_mask, decode_steps: int, decode_tokens,
              dtype: torch.dtype, extra: dict | None = None) -> str:
    """``extra``: anything else that changes what is captured (e.g. whether layers are)."""
    import transformers

    payload = {
        "schema": CAPTURE_SCHEMA,
        "checkpoint": checkpoint.identity,
        "mode": mode,
        "input_ids": _tensor_digest(input_ids),
        "attention_mask": _tensor_digest(attention_mask),
        "decode_steps": decode_steps,
        "decode_tokens": _tensor_digest(decode_tokens),
        "dtype": str(dtype),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        **(extra or {}),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def content_digest(captures: Captures) -> str:
    """sha256 over every captured tensor (name, dtype, shape, bytes): what a cache entry must still hold."""
    digest = hashlib.sha256()
    for name, tensor in sorted(captures.to_flat().items()):
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.contiguous().view(torch.uint8).numpy())  # hashed in place: no copy of the bytes
    return digest.hexdigest()


def load(key: str) -> Captures | None:
    """The cached captures, or None. An entry that cannot be read, or whose tensors no longer match the
    checksum written with them (bytes corrupted on disk), is a miss: removed and recomputed, never used."""
    path = cache_dir() / f"{key}.safetensors"
    if not path.exists():
        return None
    try:
        captures = Captures.load(path)
    except Exception as exc:  # safetensors raises several types for a damaged file
        return _discard(path, f"unreadable ({type(exc).__name__})")
    expected = captures.metadata.get("sha256")
    if expected is None or content_digest(captures) != expected:
        return _discard(path, "checksum mismatch" if expected else "no checksum")
    return captures


def _discard(path: Path, why: str) -> None:
    print(f"reference cache: discarding {path.name}: {why}; recomputing", file=sys.stderr)
    path.unlink(missing_ok=True)
    return None


def store(key: str, captures: Captures) -> Path:
    path = cache_dir() / f"{key}.safetensors"
    captures.metadata["sha256"] = content_digest(captures)
    captures.save(path)
    return path
