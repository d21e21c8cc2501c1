"""GPT-OSS on the TT-NN API (real ttnn on Wormhole, or the host emulator).

    model = tt_model.load(checkpoint, mesh="1x8", backend="auto", precision="default")
    logits = model.prefill(token_ids)            # [B, S, V] torch float32

``checkpoint`` may also be a ``tt_model.shape_only.ShapeOnlyCheckpoint`` (a config.json without weights): the model
then runs on the emulator's shape-only meshes, for its modelled op trace and device time.
"""
from __future__ import annotations


def load(checkpoint, mesh="1x8", backend: str = "auto", precision=None, layers: int | None = None,
         trace: bool = False):
    """``checkpoint``: an opened ``ground.checkpoint.Checkpoint`` (or a directory, opened here); ``trace``:
    decode steps replay a captured metal trace (see ``tt_model.model``)."""
    from ground.checkpoint import Checkpoint
    from ground.errors import UserError
    from ground.settings import settings
    from tt_model.backend import backend_info, get_ttnn
    from tt_model.generator import Generator
    from tt_model.mesh import parse_mesh
    from tt_model.model import GptOssModel
    from tt_model.precision import resolve_precision

    shape_only = getattr(checkpoint, "shape_only", False)
    if not shape_only and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint.open(checkpoint)
    mesh = parse_mesh(mesh)
    precision = resolve_precision(precision)
    ttnn = get_ttnn(backend)
    info = backend_info(ttnn)
    if not shape_only:
        model = GptOssModel(ttnn, checkpoint, mesh, precision, layers, settings().weight_cache(info["backend"]), trace)
        return Generator(model, info)
    if info["backend"] != "emulated":
        raise UserError("a model without weights (shape-only) runs on the emulator only; use --backend emulated")
    from tt_model.emulator import set_shape_only

    set_shape_only(True)  # the mesh opened inside keeps the mode; nothing else opened later does
    try:
        model = GptOssModel(ttnn, checkpoint, mesh, precision, layers, None, trace)
    finally:
        set_shape_only(False)
    return Generator(model, dict(info, shape_only=True))
