import os
from pathlib import Path

import pytest

# Under pytest-xdist (README's test command runs 2 workers on the 2-core machines) each worker keeps
# torch to one thread: two workers with two OpenMP threads each spin against each other and run slower
# than one worker alone. Set before any test module imports torch.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"

# Nothing in the tests may wait on the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"  # lm-eval's datasets: read once, when datasets is first imported
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session gets its own cache root: no test reads a cache an earlier run left."""
    root = tmp_path_factory.mktemp("gptoss-bench-cache")
    os.environ["GPTOSS_BENCH_CACHE"] = str(root)
    return Path(root)


@pytest.fixture(scope="session")
def tiny_random_dir(tmp_path_factory) -> Path:
    """A random-init tiny checkpoint in the published layout, written once per session."""
    from reference.checkpoint_writer import make_checkpoint

    return make_checkpoint("tiny", tmp_path_factory.mktemp("ckpt") / "tiny-random", random=True, max_shard_bytes=2 << 20)


@pytest.fixture(scope="session")
def tiny_random(tiny_random_dir):
    """The same checkpoint, opened."""
    from ground.checkpoint import Checkpoint

    return Checkpoint.open(tiny_random_dir)
