from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_random_dir) -> Path:
    """The trained bundled tiny model when present, else the session's random tiny."""
    from ground.checkpoint import BUNDLED_TINY

    bundled = BUNDLED_TINY
    return bundled if (bundled / "config.json").exists() else tiny_random_dir


@pytest.fixture(scope="session")
def prompt_128() -> torch.Tensor:
    return torch.randint(0, 1024, (1, 128), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="session")
def reference_128(tiny_model_dir, prompt_128):
    """HF float32 reference: prefill 128 tokens, one forced decode step."""
    from ground.checkpoint import Checkpoint
    from reference.runner import run_reference

    return run_reference(Checkpoint.open(tiny_model_dir), prompt_128, decode_steps=1, decode_tokens=torch.tensor([[17]]),
                         use_cache=False, log=lambda msg: None)


def load(model_dir, mesh="1x1", precision=None):
    import tt_model

    return tt_model.load(model_dir, mesh=mesh, backend="emulated", precision=precision)
