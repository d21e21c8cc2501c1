"""lm-evaluation-harness integration. Importing this package registers two lm-eval models:

- ``gptoss-tt``: the TT-NN model through ``tt_model.load`` (Wormhole, or the host emulator);
- ``gptoss-ref``: the Hugging Face CPU reference.

model_args (``bench.lmeval.args``): ``pretrained=DIR`` (default: the bundled tiny model),
``batch_size=N``, ``add_bos_token``, ``max_length``, ``max_gen_toks``, ``prefix_token_id``, ``seed``;
gptoss-tt also ``mesh=RxC``, ``backend=auto|ttnn|emulated``, ``precision=NAME``; gptoss-ref ``dtype``
and ``experts_implementation``. The shipped offline tasks live in ``TASKS_DIR`` (group ``gptoss_tiny``)::

    import bench.lmeval
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    simple_evaluate(model="gptoss-ref", model_args="pretrained=DIR,add_bos_token=true",
                    tasks=["gptoss_tiny"], task_manager=TaskManager(include_path=str(bench.lmeval.TASKS_DIR)))

``python -m bench.lmeval ARGS`` is lm-eval's own command line with both models registered and the
shipped tasks on the include path.
"""

from bench.lmeval.models import GptOssDevice, GptOssLM, GptOssReference, Progress
from bench.lmeval.tasks import TASKS_DIR

__all__ = ["GptOssDevice", "GptOssLM", "GptOssReference", "Progress", "TASKS_DIR"]
