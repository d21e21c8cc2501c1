"""GPT-OSS on the TT-NN API (real ttnn on Wormhole, or the host emulator).

    model = tt_model.load(checkpoint, mesh="1x8", backend="auto", precision="default")
    logits = model.prefill(token_ids)            # [B, S, V] torch float32
"""
from __future__ import annotations


def load(checkpoint, mesh="1x8", backend: str = "auto", precision=None, layers: int | None = None):
    """``checkpoint``: an opened ``ground.checkpoint.Checkpoint`` (or a directory, opened here)."""
    from ground.checkpoint import Checkpoint
    from ground.settings import settings
    from tt_model.backend import backend_info, get_ttnn
    from tt_model.generator import Generator
    from tt_model.mesh import parse_mesh
    from tt_model.model import GptOssModel
    from tt_model.precision import resolve_precision

    if not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint.open(checkpoint)
    mesh = parse_mesh(mesh)
    precision = resolve_precision(precision)
    ttnn = get_ttnn(backend)
    info = backend_info(ttnn)
    cache_root = settings().weight_cache(info["backend"])
    model = GptOssModel(ttnn, checkpoint, mesh, precision, layers, cache_root)
    return Generator(model, info)
