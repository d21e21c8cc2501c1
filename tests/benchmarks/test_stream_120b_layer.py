"""Peak memory and time of the layer-streamed reference on one full-width 120B layer.

The real 120B cannot be loaded whole on a 24 GiB host (its experts alone are ~470 GB in
float32); streaming must keep one layer's working set small. Measured in subprocesses so
the peak RSS is that of the work alone.
"""

import json
import subprocess
import sys
import textwrap

import pytest

TARGET_PEAK_GIB = 12.0
LAYERS_120B = 36

_STREAM_ONE_LAYER = textwrap.dedent(
    """
    import json, resource, sys, time, torch
    from ground.checkpoint import Checkpoint
    from reference.runner import Request, execute, plan_references
    torch.manual_seed(0)
    ids = torch.randint(0, 199998, (1, 128))
    start = time.perf_counter()
    plan = plan_references(Checkpoint.open(sys.argv[1]), [Request(ids, 0, capture_layers=False)], "stream",
                           use_cache=False, log=lambda msg: None, measure=False)
    builder = plan._engine.builder
    [captures] = execute(plan, log=lambda msg: None)
    total = time.perf_counter() - start
    logits = captures.phases["prefill"].model["logits"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"seconds": total, "peak_gib": peak, "experts_loaded": builder.experts_loaded,
                      "finite": bool(torch.isfinite(logits).all())}))
    """
)


def _run(code_or_args, *args):
    proc = subprocess.run([sys.executable, *code_or_args, *args], capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_stream_one_120b_layer_prefill_128(tmp_path):
    model_dir = tmp_path / "120b-1layer"
    _run(["-m", "bench.cli", "make-model", "--preset", "120b", "--layers", "1", "--out", str(model_dir)])
    stats = json.loads(_run(["-c", _STREAM_ONE_LAYER], str(model_dir)).strip().splitlines()[-1])
    projected = stats["seconds"] * LAYERS_120B
    print(f"\n120b layer, 128-token prefill, float32 streamed: {stats['seconds']:.1f} s, peak RSS {stats['peak_gib']:.2f} GiB, "
          f"{stats['experts_loaded']} expert loads; projected 36-layer prefill ~{projected / 60:.1f} min "
          "(upper bound: embedding and lm_head are counted once per layer here)")
    assert stats["finite"]
    assert stats["experts_loaded"] <= 128
    assert stats["peak_gib"] <= TARGET_PEAK_GIB
