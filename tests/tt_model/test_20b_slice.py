"""Full-width 20b checkpoint cut to 2 layers on a 1x8 mesh: prefill 128 + 8 decode steps (slow).

Run in a subprocess so that the peak RSS asserted is that of this work alone."""
import json
import subprocess
import sys
import textwrap

import pytest

_RUN = textwrap.dedent("""
    import json, resource, sys, time, torch
    import tt_model
    from bench.metrics import pcc
    from ground.checkpoint import Checkpoint
    from reference.runner import run_reference

    ckpt = Checkpoint.open(sys.argv[1])
    start = time.perf_counter()
    model = tt_model.load(ckpt, mesh="1x8", backend="emulated")
    loaded = time.perf_counter()
    prompt = torch.randint(0, 201088, (1, 128), generator=torch.Generator().manual_seed(0))
    forced = torch.randint(0, 201088, (1, 8), generator=torch.Generator().manual_seed(1))
    prefill, decode = model.teacher_forced(prompt, forced)
    done = time.perf_counter()
    model.close()
    del model
    ref = run_reference(ckpt, prompt, decode_steps=8, decode_tokens=forced, use_cache=False, log=lambda m: None)
    print(json.dumps({"load_s": loaded - start, "run_s": done - loaded,
                      "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "shapes": [list(prefill.shape), list(decode.shape)],
                      "finite": bool(torch.isfinite(prefill).all() and torch.isfinite(decode).all()),
                      "pcc": pcc(ref.phases["decode_7"].model["logits"], decode[:, 7:8]).value}))
""")


@pytest.mark.slow
def test_20b_two_layers_1x8(tmp_path):
    from reference.checkpoint_writer import make_checkpoint

    model_dir = make_checkpoint("20b", tmp_path / "20b-2l", layers=2, random=True)
    proc = subprocess.run([sys.executable, "-c", _RUN, str(model_dir)], capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n20b x2 layers on 1x8: load {stats['load_s']:.1f}s, prefill+8 decode {stats['run_s']:.1f}s, "
          f"peak RSS {stats['peak_gib']:.2f} GiB, decode_7 logits pcc {stats['pcc']:.4f}")
    assert stats["shapes"] == [[1, 128, 201088], [1, 8, 201088]] and stats["finite"]
    assert stats["peak_gib"] < 24
    assert stats["pcc"] >= 0.9
