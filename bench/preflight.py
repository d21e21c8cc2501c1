"""Checks that run before any work, in about a second: every input, output and backend a run will
touch. On a 120B model a mistake found after the reference phase costs hours; found here, one line.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ground.checkpoint import Checkpoint
from ground.errors import UserError, reason

GIB = 2**30


def writable_dir(path: Path, what: str) -> None:
    """``path`` is (or can be made) a directory this process can create files in."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {str(path)!r} is a file; expected a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".gptoss-bench-probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{what} {str(path)!r} is not writable ({reason(exc)})") from None


def usable_db(path: str | os.PathLike | None) -> None:
    """The results database opens, is ours, and takes writes (a probe transaction, rolled back)."""
    from contextlib import closing

    from bench.store import connect

    with closing(connect(path)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock: fails on a read-only file or directory
            conn.rollback()
        except Exception as exc:  # sqlite3.OperationalError: readonly database, disk I/O error, locked
            raise UserError(f"--db {str(path or 'default')!r} cannot be written: {exc}") from None


def lengths(checkpoint: Checkpoint, prompt_lengths: list[int], new_tokens: int, what: str) -> None:
    """Every prompt plus the tokens fed after it fits the model's context."""
    limit = checkpoint.config.max_position_embeddings
    for length in prompt_lengths:
        if length + new_tokens > limit:
            raise UserError(f"{what}: {length} prompt tokens + {new_tokens} decode steps = {length + new_tokens} "
                            f"exceeds the model's context of {limit} positions (max_position_embeddings)")


def emulated_attention_memory(checkpoint: Checkpoint, batch: int, length: int, devices_per_row: int) -> int:
    """Bytes the emulator holds for one prefill's attention scores (float32 scores, their softmax and
    the sink-extended copy, for the heads of one device)."""
    config = checkpoint.config
    heads = max(1, config.num_attention_heads // devices_per_row)
    return 3 * 4 * batch * heads * length * (length + 1)


def emulated_prefill_fits(checkpoint: Checkpoint, batch: int, lengths_: list[int], cols: int) -> None:
    import psutil

    available = psutil.virtual_memory().available
    for length in lengths_:
        need = emulated_attention_memory(checkpoint, batch, length, cols)
        if need > 0.8 * available:
            raise UserError(f"prefill length {length} needs about {need / GIB:.1f} GiB of attention scores on the "
                            f"host emulator; {available / GIB:.1f} GiB is available")


def whole_reference_fits(checkpoint: Checkpoint, mode: str) -> None:
    """The whole-model reference holds every weight dequantized in float32; say so before loading it."""
    if mode != "whole":
        return
    import psutil

    from reference.costs import whole_bytes

    need = whole_bytes(checkpoint.config)
    available = psutil.virtual_memory().available
    if need > 0.8 * available:
        raise UserError(f"--reference-mode whole needs about {need / GIB:.1f} GiB for {checkpoint.path.name} in float32; "
                        f"{available / GIB:.1f} GiB is available (use --reference-mode stream)")


def backend_available(name: str) -> None:
    from tt_model.backend import get_ttnn

    if name == "ttnn":
        get_ttnn("ttnn")  # raises UserError when the wheel is missing


def meshes_divide(checkpoint: Checkpoint, meshes: list[str]) -> None:
    from tt_model.mesh import check_divisibility, parse_mesh

    for mesh in meshes:
        check_divisibility(parse_mesh(mesh), checkpoint.config)


def accuracy(request, out: Path, db) -> Checkpoint:
    """Everything an accuracy run will touch, checked before it starts; returns the opened checkpoint."""
    from bench.accuracy import reference_mode
    from bench.inputs import resolve_model
    from ground.settings import settings

    suite = request.suite.suite
    writable_dir(out, "--out")
    usable_db(db)
    if request.use_cache:
        writable_dir(settings().cache, "cache GPTOSS_BENCH_CACHE")
    backend_available(request.backend)
    checkpoint = resolve_model(request.model, request.suite)
    checkpoint.check_weights()
    checkpoint.tokenizer  # loads it: a broken tokenizer.json is found now, not after the reference
    meshes = list(request.meshes or suite.meshes)
    meshes_divide(checkpoint, meshes)
    lengths(checkpoint, suite.prefill_lengths, suite.decode_steps, f"suite {suite.name!r}")
    forcing = suite.teacher_forcing
    lengths(checkpoint, [forcing.segment], forcing.tokens, f"suite {suite.name!r} teacher_forcing")
    whole_reference_fits(checkpoint, reference_mode(checkpoint, request.reference_mode))
    if request.backend != "ttnn":
        from tt_model.mesh import parse_mesh

        cols = min(parse_mesh(m).cols for m in meshes)
        emulated_prefill_fits(checkpoint, suite.batch_size, suite.prefill_lengths, cols)
    return checkpoint
