import pytest


@pytest.fixture(scope="session")
def reference_lm():
    """gptoss-ref on the bundled tiny model (HFLM-equal defaults: the tokenizer adds no BOS)."""
    from bench.lmeval import GptOssReference

    lm = GptOssReference(batch_size=16)
    yield lm
    lm.close()


@pytest.fixture(scope="session")
def reference_lm_bos():
    """gptoss-ref as ``gptoss-bench eval`` runs it: BOS first, transformers' eager MoE kernels."""
    from bench.eval import DEFAULT_MODEL_ARGS, REFERENCE_ARGS
    from bench.lmeval import GptOssReference

    lm = GptOssReference(**DEFAULT_MODEL_ARGS, **REFERENCE_ARGS, batch_size=16)
    yield lm
    lm.close()


@pytest.fixture(scope="session")
def shipped_tasks():
    """lm-eval's TaskManager over the shipped offline tasks only (lm-eval's catalogue not indexed)."""
    from lm_eval.tasks import TaskManager

    from bench.lmeval import TASKS_DIR

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


@pytest.fixture(scope="session")
def device_lm():
    """gptoss-tt on the host emulator, one device (the cheapest mesh), as eval runs it (BOS first)."""
    from bench.lmeval import GptOssDevice

    lm = GptOssDevice(add_bos_token=True, mesh="1x1", backend="emulated", batch_size=8)
    yield lm
    lm.close()
