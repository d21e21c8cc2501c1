"""Converted device weights under TT_CACHE_PATH: written on the first load, read on the next, keyed so
that another precision or checkpoint never reads them (the emulator honours cache_file_name)."""
import torch

import tt_model
from ground.checkpoint import Checkpoint
from tt_model.emulator import ops_core


def _prefill(checkpoint, precision=None):
    model = tt_model.load(checkpoint, mesh="1x8", backend="emulated", precision=precision)
    try:
        return model.prefill(torch.arange(2, 18)[None], max_new_tokens=1)
    finally:
        model.close()


def test_second_load_reads_every_weight_from_the_cache(tiny_random_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TT_CACHE_PATH", str(tmp_path))
    checkpoint = Checkpoint.open(tiny_random_dir)
    first = _prefill(checkpoint)
    [cache] = (tmp_path / "gptoss-bench").iterdir()
    files = sorted(p.name for p in cache.iterdir())
    assert cache.name.startswith(checkpoint.identity + "-") and cache.name.endswith("-1x8")
    assert len(files) > 4 * 10 and all(name.endswith(".tensorbin") for name in files)
    assert "model.layers.3.mlp.experts.gate_dtype_BFLOAT4_B_layout_TILE.tensorbin" in files

    def no_conversion(*args, **kwargs):
        raise AssertionError("a cache hit must not convert and write again")

    monkeypatch.setattr(ops_core, "_dump", no_conversion)
    assert torch.equal(_prefill(checkpoint), first)
    monkeypatch.undo()

    monkeypatch.setenv("TT_CACHE_PATH", str(tmp_path))
    written = []
    real_dump = ops_core._dump
    monkeypatch.setattr(ops_core, "_dump", lambda path, host: written.append(path) or real_dump(path, host))
    _prefill(checkpoint, "bf8_experts")  # another precision: its own directory, every weight converted anew
    assert len(list((tmp_path / "gptoss-bench").iterdir())) == 2 and len(written) == len(files)
