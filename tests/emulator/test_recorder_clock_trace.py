"""The scoped op recorder, the modelled device clock and trace capture / replay of the emulator."""
import math

import pytest
import torch

from tt_model.costmodel import CostModel
from tt_model.emulator import now_ns, recording, scope, use_cost_model


def _put(ttnn, mesh, x, dtype=None, **kw):
    return ttnn.from_torch(x, dtype=dtype or ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, **kw)


def test_records_carry_fidelity_memory_scope_and_modelled_time(ttnn, device):
    a = _put(ttnn, device, torch.randn(32, 64))
    w = _put(ttnn, device, torch.randn(64, 96), ttnn.bfloat8_b)
    config = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi2)
    with recording() as outer, scope("decode_3"), scope("layer_2/experts"):
        with recording() as inner:
            y = ttnn.matmul(a, w, compute_kernel_config=config, memory_config=ttnn.L1_MEMORY_CONFIG)
    (mm,) = [r for r in inner.records if not r.host]
    assert outer.records == inner.records  # nested recordings both get every record
    assert (mm.op, mm.math_fidelity, mm.scope) == ("matmul", "HiFi2", "decode_3/layer_2/experts")
    assert [t.buffer for t in mm.inputs] == ["DRAM", "DRAM"] and mm.outputs[0].buffer == "L1"
    model = CostModel.load()
    cost = model.price(mm)
    assert mm.kernel_ns == cost.kernel_ns > 0 and mm.dispatch_ns == model.dispatch_ns == 1525
    # DRAM bytes: the activations and the bf8 weights (with their exponent bytes); the L1 output is free
    assert model.dram_bytes(mm) == 32 * 64 * 2 + 64 * 96 * (1 + 1 / 16)
    assert tuple(y.shape) == (32, 96)


def test_every_op_advances_every_device_clock_outside_a_recording(ttnn, open_mesh):
    mesh = open_mesh(1, 8)
    x = _put(ttnn, mesh, torch.randn(32, 256))
    before = now_ns(mesh)
    with recording() as log:
        ttnn.add(x, x)
    (add,) = log.records
    assert now_ns(mesh) - before == pytest.approx(add.kernel_ns + add.dispatch_ns)
    assert len(set(mesh.clock_ps)) == 1  # all eight chips ran it
    t = now_ns(mesh)
    ttnn.mul(x, x)  # no recording active: still timed
    assert now_ns(mesh) > t


def test_ccl_link_model_ring_and_single_device(ttnn, open_mesh):
    mesh = open_mesh(1, 8)
    x = _put(ttnn, mesh, torch.randn(32, 8 * 64), mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    with recording() as log:
        ttnn.all_gather(x, dim=1)
    (ag,) = [r for r in log.records if r.ccl]
    shard = 32 * 64 * 2
    # Ring over 8 chips: ceil(7 / 2) = 4 steps over T3K's 2 links at 12.5 GB/s, 650 ns per hop
    assert ag.kernel_ns == pytest.approx(4 * (shard / (2 * 12.5e9) * 1e9 + 650))
    single = open_mesh(1, 1)
    y = _put(ttnn, single, torch.randn(32, 64))
    with recording() as log:
        ttnn.all_gather(y, dim=1)
    assert [r.kernel_ns for r in log.records if r.ccl] == [0.0]  # a 1x1 mesh moves nothing


def test_doubling_dram_bandwidth_halves_a_dram_bound_op(ttnn, device):
    x = _put(ttnn, device, torch.randn(1024, 1024))
    with recording() as log:
        ttnn.add(x, x)
    (record,) = log.records
    base, fast = CostModel.load(), CostModel.load({"chip": {"dram_bandwidth_gbps": {"value": 576}}})
    latency = base.classes["binary"]["latency_ns"]["value"]
    slow_part = base._price(record).kernel_ns - latency
    assert base._price(record).bound == "DRAM"
    assert fast._price(record).kernel_ns - latency == pytest.approx(slow_part / 2)
    with use_cost_model(fast):
        t = now_ns(device)
        ttnn.add(x, x)
        assert now_ns(device) - t == pytest.approx(fast._price(record).kernel_ns + fast.dispatch_ns)


def test_trace_replay_recomputes_on_new_inputs_without_dispatch(ttnn, open_mesh):
    device = open_mesh(1, 1, trace_region_size=100_000_000)
    x = _put(ttnn, device, torch.ones(32, 32))
    ttnn.add(ttnn.mul(x, 2.0), 1.0)  # compile run
    trace_id = ttnn.begin_trace_capture(device, cq_id=0)
    assert ttnn.is_trace_capture_active(device)
    t = now_ns(device)
    y = ttnn.add(ttnn.mul(x, 2.0), 1.0)
    ttnn.end_trace_capture(device, trace_id, cq_id=0)
    assert now_ns(device) == t  # captured, not executed
    new = torch.arange(32 * 32, dtype=torch.float32).reshape(32, 32) / 64
    host = ttnn.from_torch(new, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT)
    ttnn.copy_host_to_device_tensor(host, x)
    with recording() as log:
        ttnn.execute_trace(device, trace_id, cq_id=0, blocking=False)
    ttnn.synchronize_device(device)
    bf16 = lambda t: t.to(torch.bfloat16).float()  # each op rounds its output to bfloat16
    assert torch.equal(ttnn.to_torch(y).float(), bf16(bf16(bf16(new) * 2) + 1))
    assert [r.op for r in log.records] == ["mul", "add"] and all(r.traced and r.dispatch_ns == 0 for r in log.records)
    assert now_ns(device) - t == pytest.approx(sum(r.kernel_ns for r in log.records))
    ttnn.release_trace(device, trace_id)
    with pytest.raises(RuntimeError, match="does not exist"):
        ttnn.execute_trace(device, trace_id)


def test_host_reads_and_writes_fail_during_capture(ttnn, open_mesh):
    device = open_mesh(1, 1, trace_region_size=100_000_000)
    x = _put(ttnn, device, torch.ones(32, 32))
    trace_id = ttnn.begin_trace_capture(device)
    with pytest.raises(RuntimeError, match="not supported while a trace is being captured"):
        _put(ttnn, device, torch.ones(32, 32))
    with pytest.raises(RuntimeError, match="not supported while a trace is being captured"):
        ttnn.to_torch(x)
    with pytest.raises(RuntimeError, match="not supported while a trace is being captured"):
        ttnn.synchronize_device(device)
    ttnn.end_trace_capture(device, trace_id)
    with pytest.raises(RuntimeError, match="already being captured"):
        second = ttnn.begin_trace_capture(device)
        ttnn.begin_trace_capture(device)
    ttnn.end_trace_capture(device, second)


def test_copy_host_to_device_tensor_checks_shape_and_dtype(ttnn, device):
    x = _put(ttnn, device, torch.ones(32, 32))
    wrong = ttnn.from_torch(torch.ones(32, 64), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT)
    with pytest.raises(RuntimeError, match="same shape"):
        ttnn.copy_host_to_device_tensor(wrong, x)


def test_shape_only_mesh_holds_meta_tensors_and_times_like_real_data(ttnn):
    from tt_model.emulator import set_shape_only

    def run(shape_only):
        set_shape_only(shape_only)
        try:
            mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
        finally:
            set_shape_only(False)
        a = _put(ttnn, mesh, torch.randn(64, 2880))
        w = _put(ttnn, mesh, torch.randn(2880, 512), ttnn.bfloat8_b)
        with recording() as log:
            y = ttnn.softmax(ttnn.linear(a, w), dim=-1)
        return y, [(r.op, r.kernel_ns) for r in log.records]

    meta, meta_times = run(True)
    real, real_times = run(False)
    assert meta._shards[0].is_meta and not real._shards[0].is_meta
    assert tuple(meta.shape) == tuple(real.shape) == (64, 512)
    assert meta_times == real_times and all(t > 0 for _, t in real_times)


def test_paged_update_cache_writes_the_slot_held_on_device(ttnn, device):
    cache = _put(ttnn, device, torch.zeros(2, 1, 64, 32))
    rows = torch.randn(1, 2, 1, 32)
    slots = ttnn.from_torch(torch.tensor([5, 9], dtype=torch.int32), dtype=ttnn.int32, device=device)
    new_rows = ttnn.to_memory_config(_put(ttnn, device, rows), _one_user_per_core(ttnn, device, 2, 32))
    with recording() as log:
        ttnn.experimental.paged_update_cache(cache, new_rows, update_idxs_tensor=slots)
    out = ttnn.to_torch(cache).float()
    assert torch.equal(out[0, 0, 5], rows[0, 0, 0].to(torch.bfloat16).float())
    assert torch.equal(out[1, 0, 9], rows[0, 1, 0].to(torch.bfloat16).float())
    assert out.abs().sum() == out[0, 0, 5].abs().sum() + out[1, 0, 9].abs().sum()
    (update,) = [r for r in log.records if r.op == "paged_update_cache"]
    assert update.dram_bytes == math.prod((1, 2, 32, 32)) * 2  # the new rows written (read from L1), not the cache


def _one_user_per_core(ttnn, device, users, head_dim):
    grid = ttnn.num_cores_to_corerangeset(users, device.compute_with_storage_grid_size(), row_wise=True)
    return ttnn.create_sharded_memory_config((32, head_dim), grid, ttnn.ShardStrategy.HEIGHT,
                                             use_height_and_width_as_shard_shape=True)


def test_paged_update_cache_refuses_what_the_device_refuses(ttnn, device):
    # tt-metal validates these before it runs the kernel; tt_model must not pass on the emulator and fail on a chip.
    cache = _put(ttnn, device, torch.zeros(2, 1, 64, 32))
    rows = _put(ttnn, device, torch.randn(1, 2, 1, 32))
    slots = ttnn.from_torch(torch.tensor([5, 9], dtype=torch.int32), dtype=ttnn.int32, device=device)
    with pytest.raises(RuntimeError, match="Expect input_tensor to be sharded"):
        ttnn.experimental.paged_update_cache(cache, rows, update_idxs_tensor=slots)
    sharded = ttnn.to_memory_config(rows, _one_user_per_core(ttnn, device, 2, 32))
    with pytest.raises(RuntimeError, match=r"Number of update_idxs \(1\) should match batch size \(2\)"):
        ttnn.experimental.paged_update_cache(cache, sharded, update_idxs=[3])
    as_uint = ttnn.from_torch(torch.tensor([5, 9], dtype=torch.int32), dtype=ttnn.uint32, device=device)
    with pytest.raises(RuntimeError, match="INT32"):
        ttnn.experimental.paged_update_cache(cache, sharded, update_idxs_tensor=as_uint)
    wide = ttnn.create_sharded_memory_config((32, 64), ttnn.CoreGrid(y=1, x=2), ttnn.ShardStrategy.HEIGHT,
                                             use_height_and_width_as_shard_shape=True)
    with pytest.raises(RuntimeError, match="cannot hold"):  # shard width must equal the row width
        ttnn.to_memory_config(rows, wide)
    with pytest.raises(RuntimeError, match="cannot hold"):  # two users do not fit one 32-row shard
        ttnn.to_memory_config(rows, _one_user_per_core(ttnn, device, 1, 32))
    no_spec = ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.DRAM)
    with pytest.raises(RuntimeError, match="MemoryConfig must have Shard Spec specified for sharded memory layout"):
        ttnn.to_memory_config(rows, no_spec)
    block_in_dram = ttnn.MemoryConfig(ttnn.TensorMemoryLayout.BLOCK_SHARDED, ttnn.BufferType.DRAM)
    with pytest.raises(RuntimeError, match="We don't support DRAM block sharding"):
        ttnn.to_memory_config(rows, block_in_dram)


def test_core_range_sets_fill_rows_then_the_remainder(ttnn):
    grid = ttnn.CoreCoord(8, 8)
    assert ttnn.num_cores_to_corerangeset(32, grid, row_wise=True).num_cores() == 32
    ranges = ttnn.num_cores_to_corerangeset(12, grid, row_wise=True).ranges
    assert [(r.start.x, r.start.y, r.end.x, r.end.y) for r in ranges] == [(0, 0, 7, 0), (0, 1, 3, 1)]
    column = ttnn.num_cores_to_corerangeset(3, grid).ranges
    assert [(r.start.x, r.start.y, r.end.x, r.end.y) for r in column] == [(0, 0, 0, 2)]
    with pytest.raises(RuntimeError, match="65 cores do not fit"):
        ttnn.num_cores_to_corerangeset(65, grid, row_wise=True)
    config = ttnn.create_sharded_memory_config((1, 4, 100, 64), ttnn.CoreGrid(y=2, x=4), ttnn.ShardStrategy.HEIGHT)
    # ttnn/core.py splits the rows exactly (no rounding to tiles): 400 rows / 8 cores = 50
    assert config.shard_spec.shape == (50, 64) and config.buffer_type == ttnn.BufferType.L1
