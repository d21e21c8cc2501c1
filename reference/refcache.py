"""On-disk cache of reference captures (tt-metal's ``.refpt`` idea, generalised).

The key hashes everything that determines the captures: the checkpoint (config bytes, index,
and each weight file's name, size and mtime), the input tokens and mask, the decode plan,
the dtype, and the torch / transformers versions. Streaming and whole-model runs produce the
same captures, so the mode is not part of the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import torch

from reference.captures import Captures

CAPTURE_SCHEMA = "1"


def cache_dir() -> Path:
    root = Path(os.environ.get("GPTOSS_BENCH_CACHE", Path.home() / ".cache" / "gptoss-bench"))
    return root / "refcache"


def checkpoint_identity(model_dir: Path) -> dict:
    files = sorted(p for p in model_dir.iterdir() if p.suffix in {".safetensors", ".json"})
    return {
        "config": hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest(),
        "files": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files],
    }


def _tensor_digest(tensor: torch.Tensor | None) -> str | None:
    if tensor is None:
        return None
    t = tensor.detach().cpu().contiguous()
    return hashlib.sha256(str((t.dtype, tuple(t.shape))).encode() + t.numpy().tobytes()).hexdigest()


def cache_key(model_dir: Path, input_ids, attention_mask, decode_steps: int, decode_tokens, dtype: torch.dtype) -> str:
    import transformers

    payload = {
        "schema": CAPTURE_SCHEMA,
        "checkpoint": checkpoint_identity(model_dir),
        "input_ids": _tensor_digest(input_ids),
        "attention_mask": _tensor_digest(attention_mask),
        "decode_steps": decode_steps,
        "decode_tokens": _tensor_digest(decode_tokens),
        "dtype": str(dtype),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
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
