from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data"


def shape_only(size: str, layers: int | None = None):
    from reference.presets import PRESETS, published_config
    from tt_model.shape_only import ShapeOnlyCheckpoint

    return ShapeOnlyCheckpoint(published_config(PRESETS[size], layers=layers), size)


def modelled(checkpoint, mesh: str, batch: int, isl: int = 32, steps: int = 3, trace: bool = False):
    """(prefill ns, [decode step ns], decode-step device op count) of the modelled clock."""
    import tt_model
    from tt_model.emulator import recording

    model = tt_model.load(checkpoint, mesh=mesh, backend="emulated", trace=trace)
    try:
        ids = torch.zeros(batch, isl, dtype=torch.long)
        t0 = model.device_clock_ns()
        model.prefill(ids, max_new_tokens=steps + 1)
        prefill = model.device_clock_ns() - t0
        times, ops = [], 0
        for _ in range(steps):
            t = model.device_clock_ns()
            with recording() as log:
                model.decode_step(torch.zeros(batch, dtype=torch.long))
            times.append(model.device_clock_ns() - t)
            ops = sum(1 for r in log.records if not r.host and r.op_class != "view")
        return prefill, times, ops
    finally:
        model.close()


@pytest.fixture
def data_dir() -> Path:
    return DATA
