"""What a Wormhole chip holds: DRAM banks, L1 per core, the trace region (tt_model/emulator/memory.py)."""
import gc
import re

import pytest
import torch

from tt_model.emulator import memory

BANK = memory.DRAM_BANK_BYTES - memory.DRAM_BANK_RESERVED


def _put(ttnn, mesh, x, dtype=None, **kw):
    return ttnn.from_torch(x, dtype=dtype or ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, **kw)


def test_interleaved_dram_is_dealt_over_twelve_banks_and_freed_with_the_tensor(ttnn, device):
    mem = device.memory
    start = mem.dram_per_bank
    t = _put(ttnn, device, torch.zeros(64, 64 * 6))  # 24 bf16 tiles of 2048 B: 2 per bank
    assert mem.dram_per_bank - start == 2 * 2048
    del t
    gc.collect()
    assert mem.dram_per_bank == start and mem.peak_dram_per_bank >= start + 4096


def test_deallocate_frees_at_once(ttnn, device):
    t = _put(ttnn, device, torch.zeros(32, 32 * 13))  # 13 tiles: 2 pages on the fullest bank
    before = device.memory.dram_per_bank
    ttnn.deallocate(t)
    assert before - device.memory.dram_per_bank == 2 * 2048


def test_a_bank_refuses_what_does_not_fit_with_the_allocator_message(ttnn, open_mesh):
    # a trace region of all but 1 MiB of every bank leaves 1 MiB banks: small tensors reach the limit
    mesh = open_mesh(1, 1, trace_region_size=BANK - (1 << 20))
    assert mesh.memory.dram_bank_size == 1 << 20
    held = _put(ttnn, mesh, torch.zeros(32 * 12, 32 * 256))  # 3072 tiles: 256 per bank, 512 KiB
    assert mesh.memory.peak_dram_bytes == 12 * (1 << 19)
    with pytest.raises(RuntimeError, match=re.escape(
            "TT_FATAL @ tt_metal/impl/allocator/bank_manager.cpp: Out of Memory: Not enough space to allocate "
            f"{12 * 300 * 2048} B DRAM buffer across 12 banks, where each bank needs to store {300 * 2048} B, but "
            f"bank size is {1 << 20} B (allocated: {1 << 19} B, free: {1 << 19} B, largest free block: "
            f"{1 << 19} B)")):
        _put(ttnn, mesh, torch.zeros(32 * 12, 32 * 300))
    del held


def test_the_trace_region_is_carved_from_every_bank(ttnn, open_mesh):
    mesh = open_mesh(1, 1, trace_region_size=64 << 20)
    assert mesh.memory.dram_bank_size == BANK - (64 << 20)


def test_l1_holds_one_shard_per_core_and_refuses_what_one_core_cannot(ttnn, device):
    grid = ttnn.num_cores_to_corerangeset(8, device.compute_with_storage_grid_size(), row_wise=True)
    rows = ttnn.create_sharded_memory_config((32, 64), grid, ttnn.ShardStrategy.HEIGHT,
                                             ttnn.ShardOrientation.ROW_MAJOR, use_height_and_width_as_shard_shape=True)
    x = ttnn.to_memory_config(_put(ttnn, device, torch.zeros(1, 8, 32, 64)), rows)
    assert device.memory.l1[:8] == [32 * 64 * 2] * 8 and device.memory.l1[8] == 0
    bank = memory.L1_BYTES - memory.L1_UNRESERVED_BASE
    assert device.memory.l1_bank_size == bank == 1_399_232
    big = ttnn.create_sharded_memory_config((1408, 512), grid, ttnn.ShardStrategy.HEIGHT,
                                            ttnn.ShardOrientation.ROW_MAJOR, use_height_and_width_as_shard_shape=True)
    with pytest.raises(RuntimeError, match=re.escape(
            f"Out of Memory: Not enough space to allocate {8 * 1408 * 512 * 2} B L1 buffer across 8 banks, where "
            f"each bank needs to store {1408 * 512 * 2} B, but bank size is {bank} B (allocated: 4096 B")):
        ttnn.to_memory_config(_put(ttnn, device, torch.zeros(1, 8, 1408, 512)), big)
    del x


def test_l1_small_size_comes_off_every_core(ttnn, open_mesh):
    mesh = open_mesh(1, 1, l1_small_size=16384)
    assert mesh.memory.l1_bank_size == 1_399_232 - 16384


def _capture(ttnn, mesh, ops):
    x = _put(ttnn, mesh, torch.ones(32, 32))
    trace_id = ttnn.begin_trace_capture(mesh)
    for _ in range(ops):
        x = ttnn.add(x, x)
    return x, trace_id


def test_a_trace_larger_than_its_region_is_refused_as_mesh_trace_refuses_it(ttnn, open_mesh):
    mesh = open_mesh(1, 1, trace_region_size=40_000)
    x, trace_id = _capture(ttnn, mesh, 10)  # 10 programs + the end command: 45,056 B
    with pytest.raises(RuntimeError, match=re.escape(
            "TT_FATAL @ tt_metal/distributed/mesh_trace.cpp: Creating trace buffers of size 45056B on MeshDevice "
            "1x1, but only 40000B is allocated for trace region.")):
        ttnn.end_trace_capture(mesh, trace_id)
    with pytest.raises(RuntimeError, match="does not exist"):
        ttnn.execute_trace(mesh, trace_id)


def test_traces_alive_together_share_the_region(ttnn, open_mesh):
    mesh = open_mesh(1, 1, trace_region_size=80_000)
    _, first = _capture(ttnn, mesh, 10)
    ttnn.end_trace_capture(mesh, first)
    _, second = _capture(ttnn, mesh, 10)
    with pytest.raises(RuntimeError, match="only 80000B is allocated for trace region"):
        ttnn.end_trace_capture(mesh, second)
    ttnn.release_trace(mesh, first)
    _, third = _capture(ttnn, mesh, 10)
    ttnn.end_trace_capture(mesh, third)  # fits once the first is released
    assert mesh.memory.traces == {int(third): 45056}


def test_trace_region_size_zero_puts_the_trace_in_dram(ttnn, open_mesh):
    mesh = open_mesh(1, 1, trace_region_size=0)
    x, trace_id = _capture(ttnn, mesh, 3)
    before = mesh.memory.dram_per_bank
    ttnn.end_trace_capture(mesh, trace_id)
    ttnn.execute_trace(mesh, trace_id)
    assert torch.equal(ttnn.to_torch(x).float(), torch.full((32, 32), 8.0))  # the replay recomputed 1 doubled 3x
    assert mesh.memory.dram_per_bank - before == 4096  # 16 KiB of commands over 12 banks: one page each
    ttnn.release_trace(mesh, trace_id)
    # the trace buffer is freed, and with it the intermediates the trace held: only x (one tile) is left
    assert mesh.memory.dram_per_bank == before - 3 * 2048


def test_allocating_while_a_trace_is_alive_is_reported(ttnn, open_mesh, caplog):
    mesh = open_mesh(1, 1, trace_region_size=1 << 20)
    x, trace_id = _capture(ttnn, mesh, 2)
    ttnn.end_trace_capture(mesh, trace_id)
    assert mesh.memory.unsafe_allocations == 0
    with caplog.at_level("DEBUG", logger="tt_model.emulator"):
        _put(ttnn, mesh, torch.ones(32, 32))
        _put(ttnn, mesh, torch.ones(32, 32))
    assert mesh.memory.unsafe_allocations == 2
    unsafe = [r for r in caplog.records if "Allocating device buffers is unsafe due to the existence of an active "
              "trace. These buffers may be corrupted once a trace is executed." in r.getMessage()]
    assert len(unsafe) == 1  # logged once, as tt-metal does, counted every time
    ttnn.release_trace(mesh, trace_id)
    _put(ttnn, mesh, torch.ones(32, 32))
    assert mesh.memory.unsafe_allocations == 2  # no trace alive: safe again


def test_buffers_allocated_after_capture_and_alive_at_replay_are_counted(ttnn, open_mesh, caplog):
    mesh = open_mesh(1, 1, trace_region_size=1 << 20)
    x, trace_id = _capture(ttnn, mesh, 2)
    ttnn.end_trace_capture(mesh, trace_id)
    kept = [_put(ttnn, mesh, torch.ones(32, 32)) for _ in range(3)]
    _put(ttnn, mesh, torch.ones(32, 32))  # dropped at once: cannot be overwritten by the replay
    ttnn.deallocate(kept[0])
    with caplog.at_level("WARNING", logger="tt_model.emulator"):
        ttnn.execute_trace(mesh, trace_id)
    assert (mesh.memory.unsafe_allocations, mesh.memory.unsafe_at_replay) == (4, 2)
    assert "1x1: 2 buffers allocated after a trace capture are alive while it replays" in caplog.text
