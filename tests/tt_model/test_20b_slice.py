"""Full-width 20b checkpoint cut to 2 layers on a 1x8 mesh: prefill 128 + 8 decode steps (slow)."""
import resource
import time

import pytest
import torch

from tests.tt_model.conftest import load


@pytest.mark.slow
def test_20b_two_layers_1x8(tmp_path):
    from bench.metrics import pcc
    from reference.checkpoint import make_checkpoint
    from reference.runner import run_reference

    model_dir = make_checkpoint("20b", tmp_path / "20b-2l", layers=2, random=True)
    start = time.perf_counter()
    model = load(model_dir, "1x8")
    loaded = time.perf_counter()
    prompt = torch.randint(0, 201088, (1, 128), generator=torch.Generator().manual_seed(0))
    forced = torch.randint(0, 201088, (1, 8), generator=torch.Generator().manual_seed(1))
    prefill, decode = model.teacher_forced(prompt, forced)
    done = time.perf_counter()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert prefill.shape == (1, 128, 201088) and decode.shape == (1, 8, 201088)
    assert torch.isfinite(prefill).all() and torch.isfinite(decode).all()
    model.close()
    del model
    ref = run_reference(model_dir, prompt, decode_steps=8, decode_tokens=forced, use_cache=False, log=lambda m: None)
    value = pcc(ref.phases["decode_7"].model["logits"], decode[:, 7:8]).value
    print(f"\n20b x2 layers on 1x8: load {loaded - start:.1f}s, prefill+8 decode {done - loaded:.1f}s, "
          f"peak RSS {peak_gib:.2f} GiB, decode_7 logits pcc {value:.4f}")
    assert peak_gib < 24
    assert value >= 0.9
