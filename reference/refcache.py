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


def load(key: str) -> Captures | None:
    """The cached captures, or None; a corrupt file counts as a miss and is removed."""
    path = cache_dir() / f"{key}.safetensors"
    if not path.exists():
        return None
    try:
        return Captures.load(path)
    except Exception as exc:  # safetensors raises several types for a damaged file
        print(f"reference cache: discarding unreadable {path.name} ({type(exc).__name__})", file=sys.stderr)
        path.unlink(missing_ok=True)
        return None


def store(key: str, captures: Captures) -> Path:
    path = cache_dir() / f"{key}.safetensors"
    captures.save(path)
    return path
