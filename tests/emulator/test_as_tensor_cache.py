"""ttnn.as_tensor(cache_file_name=...) as ttnn 0.81.1 (ttnn/ttnn/operations/core.py): the file is
f"{cache_file_name}_dtype_{dtype.name}_layout_{layout.name}.tensorbin"; a hit loads it and ignores the torch
tensor; a miss converts and writes it; an unloadable file is converted and written again."""
import warnings

import pytest
import torch

from tt_model.emulator import ops_core


def _as(ttnn, device, x, cache, dtype=None, mapper=None, layout=None):
    return ttnn.as_tensor(x, dtype=dtype or ttnn.bfloat8_b, layout=layout or ttnn.TILE_LAYOUT, device=device,
                          memory_config=ttnn.DRAM_MEMORY_CONFIG, cache_file_name=cache, mesh_mapper=mapper)


def test_file_name_follows_ttnn(ttnn, device, tmp_path):
    _as(ttnn, device, torch.randn(32, 64), tmp_path / "sub" / "w")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["w_dtype_BFLOAT8_B_layout_TILE.tensorbin"]


def test_hit_returns_cached_values_without_converting(ttnn, device, tmp_path, monkeypatch):
    x = torch.randn(64, 64)
    first = _as(ttnn, device, x, tmp_path / "w")
    calls = []
    real = ops_core.from_torch
    monkeypatch.setattr(ops_core, "from_torch", lambda *a, **k: calls.append(1) or real(*a, **k))
    second = _as(ttnn, device, torch.zeros(64, 64), tmp_path / "w")  # real ttnn also ignores the tensor on a hit
    assert calls == []
    assert second.dtype == ttnn.bfloat8_b and second.storage_type == ttnn.StorageType.DEVICE
    assert torch.equal(ttnn.to_torch(second).float(), ttnn.to_torch(first).float())
    assert not torch.equal(ttnn.to_torch(second).float(), torch.zeros(64, 64))


def test_other_dtype_or_layout_is_another_file(ttnn, device, tmp_path):
    x = torch.randn(32, 64)
    b8 = _as(ttnn, device, x, tmp_path / "w")
    b16 = _as(ttnn, device, x, tmp_path / "w", dtype=ttnn.bfloat16)
    rm = _as(ttnn, device, x, tmp_path / "w", dtype=ttnn.bfloat16, layout=ttnn.ROW_MAJOR_LAYOUT)
    assert (b8.dtype, b16.dtype, rm.layout) == (ttnn.bfloat8_b, ttnn.bfloat16, ttnn.ROW_MAJOR_LAYOUT)
    assert len(list(tmp_path.glob("w_dtype_*.tensorbin"))) == 3
    assert not torch.equal(ttnn.to_torch(b8).float(), ttnn.to_torch(b16).float())


def test_corrupt_file_is_converted_and_written_again(ttnn, device, tmp_path):
    x = torch.randn(32, 64)
    path = ops_core.cache_path(tmp_path / "w", ttnn.bfloat16, ttnn.TILE_LAYOUT)
    path.write_bytes(b"not a tensor")
    with pytest.warns(RuntimeWarning, match="Failed to load cache"):
        t = _as(ttnn, device, x, tmp_path / "w", dtype=ttnn.bfloat16)
    assert torch.equal(ttnn.to_torch(t).float(), x.bfloat16().float())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten file loads cleanly
        again = _as(ttnn, device, torch.zeros(32, 64), tmp_path / "w", dtype=ttnn.bfloat16)
    assert torch.equal(ttnn.to_torch(again).float(), x.bfloat16().float())


def test_written_atomically_and_preprocess_skipped_on_hit(ttnn, device, tmp_path):
    seen = []
    pre = lambda t: seen.append(1) or t * 2
    x = torch.randn(32, 32)
    ttnn.as_tensor(x, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device,
                   memory_config=ttnn.DRAM_MEMORY_CONFIG, cache_file_name=tmp_path / "p", preprocess=pre)
    hit = ttnn.as_tensor(x, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device,
                         memory_config=ttnn.DRAM_MEMORY_CONFIG, cache_file_name=tmp_path / "p", preprocess=pre)
    assert seen == [1] and torch.equal(ttnn.to_torch(hit), x * 2)
    assert [p.name for p in tmp_path.iterdir()] == ["p_dtype_FLOAT32_layout_TILE.tensorbin"]  # no temp left


def test_device_without_memory_config_is_refused(ttnn, device, tmp_path):
    with pytest.raises(RuntimeError, match="memory_config must be specified when device is specified"):
        ttnn.as_tensor(torch.randn(32, 32), dtype=ttnn.bfloat16, device=device)


def test_replicated_is_cached_unsharded_and_sharded_keeps_its_shards(ttnn, open_mesh, tmp_path):
    mesh = open_mesh(1, 8)
    w = torch.randn(64, 256)
    rep = _as(ttnn, mesh, w, tmp_path / "rep", mapper=ttnn.ReplicateTensorToMesh(mesh))
    payload = torch.load(next(tmp_path.glob("rep_*")), weights_only=True)
    assert len(payload["index"]) == 1 and rep.num_devices == 8
    sharded = _as(ttnn, mesh, w, tmp_path / "sh", mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    hit = _as(ttnn, mesh, torch.zeros(64, 256), tmp_path / "sh", mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    composer = ttnn.ConcatMeshToTensor(mesh, dim=1)
    assert torch.equal(ttnn.to_torch(hit, mesh_composer=composer), ttnn.to_torch(sharded, mesh_composer=composer))
    assert tuple(ttnn.get_device_tensors(hit)[0].shape) == (64, 32)
