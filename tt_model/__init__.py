"""GPT-OSS on the TT-NN API (real ttnn on Wormhole, or the host emulator).

    model = tt_model.load(model_dir, mesh="1x8", backend="auto", precision="default")
    logits = model.prefill(token_ids)            # [B, S, V] torch float32
"""
from __future__ import annotations

from pathlib import Path


def load(model_dir, mesh="1x8", backend: str = "auto", precision=None, layers: int | None = None):
    from reference.loader import validate_model_dir
    from tt_model.backend import backend_info, get_ttnn
    from tt_model.config import load_config
    from tt_model.generator import Generator
    from tt_model.mesh import parse_mesh
    from tt_model.model import GptOssModel
    from tt_model.precision import resolve_precision

    model_dir = validate_model_dir(Path(model_dir))
    ttnn = get_ttnn(backend)
    model = GptOssModel(ttnn, model_dir, load_config(model_dir), parse_mesh(mesh), resolve_precision(precision), layers)
    return Generator(model, backend_info(ttnn))
