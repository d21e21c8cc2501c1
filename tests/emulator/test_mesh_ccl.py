import pytest
import torch

from tt_model.emulator import recording


@pytest.mark.parametrize("shape", [(1, 1), (1, 8), (2, 4), (4, 8)])
def test_open_mesh_shapes(ttnn, shape):
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(*shape))
    assert mesh.get_num_devices() == shape[0] * shape[1] and tuple(mesh.shape) == shape
    ttnn.close_mesh_device(mesh)


def test_mappers_place_real_shards_and_composers_restore(ttnn, open_mesh):
    mesh = open_mesh(2, 4)
    x = torch.arange(8 * 64, dtype=torch.float32).reshape(8, 64)
    t = ttnn.from_torch(x, dtype=ttnn.float32, device=mesh, mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    shards = ttnn.get_device_tensors(t)
    assert len(shards) == 8 and torch.equal(ttnn.to_torch(shards[3]), x[:, 24:32])
    assert torch.equal(ttnn.to_torch(t, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=1)), x)
    t2 = ttnn.from_torch(x, dtype=ttnn.float32, device=mesh,
                         mesh_mapper=ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(t2)[5]), x[4:8, 16:32])  # row 1, col 1
    back = ttnn.to_torch(t2, mesh_composer=ttnn.ConcatMesh2dToTensor(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    assert torch.equal(back, x)
    rep = ttnn.from_torch(x, dtype=ttnn.float32, device=mesh, mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
    assert all(torch.equal(ttnn.to_torch(s), x) for s in ttnn.get_device_tensors(rep))
    with pytest.raises(RuntimeError, match="mesh_composer"):
        ttnn.to_torch(t)


def test_tensor_parallel_matmul_1x8_equals_1x1(ttnn, open_mesh):
    torch.manual_seed(0)
    x, w = torch.randn(32, 512), torch.randn(512, 256) * 0.05
    one = open_mesh(1, 1)
    ref = ttnn.to_torch(ttnn.matmul(ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=one),
                                    ttnn.from_torch(w, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=one)))
    mesh = open_mesh(1, 8)
    # Row-parallel: shard K, partial products, then reduce.
    xs = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                         mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    ws = ttnn.from_torch(w, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                         mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    partial = ttnn.matmul(xs, ws, dtype=ttnn.float32)
    reduced = ttnn.all_reduce(partial)
    out = ttnn.to_torch(ttnn.get_device_tensors(ttnn.typecast(reduced, ttnn.bfloat16))[0]).float()
    ref = ref.float()
    assert torch.allclose(out, ref, rtol=2 ** -7, atol=2 ** -7 * ref.abs().max().item())
    # Column-parallel: shard N, gather.
    wc = ttnn.from_torch(w, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                         mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    xr = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
    gathered = ttnn.all_gather(ttnn.matmul(xr, wc), dim=1)
    assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(gathered)[7]).float(), ref)


def test_cluster_axis_reduces_rows_or_columns_of_4x8(ttnn, open_mesh):
    mesh = open_mesh(4, 8)
    # device (r, c) holds the value 10*r + c
    vals = torch.tensor([[10.0 * r + c for c in range(8)] for r in range(4)])
    x = vals.reshape(4, 1, 8, 1).expand(4, 32, 8, 32).contiguous()
    t = ttnn.from_torch(x, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensor2dMesh(mesh, mesh_shape=(4, 8), dims=(0, 2)))
    col_sum = ttnn.get_device_tensors(ttnn.all_reduce(t, cluster_axis=0))
    row_sum = ttnn.get_device_tensors(ttnn.all_reduce(t, cluster_axis=1))
    r, c = 2, 5
    assert ttnn.to_torch(col_sum[r * 8 + c]).unique().item() == vals[:, c].sum().item()
    assert ttnn.to_torch(row_sum[r * 8 + c]).unique().item() == vals[r].sum().item()
    rs = ttnn.get_device_tensors(ttnn.reduce_scatter(t, dim=3, cluster_axis=1))
    assert tuple(rs[0].shape) == (1, 32, 1, 4)
    gathered = ttnn.get_device_tensors(ttnn.all_gather(t, dim=2, cluster_axis=1))
    assert torch.equal(ttnn.to_torch(gathered[r * 8]).reshape(32, 8, 32)[0, :, 0], vals[r])


def test_recorder_records_shapes_flops_and_the_collective(ttnn, open_mesh):
    mesh = open_mesh(1, 8)
    a = ttnn.from_torch(torch.randn(32, 64), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
    b = ttnn.from_torch(torch.randn(64, 128), dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
    with recording() as log:
        y = ttnn.matmul(a, b)
        ttnn.all_gather(y, dim=1)
    mm, ag = [r for r in log.records if not r.host]
    assert mm.op == "matmul" and [(t.shape, t.dtype) for t in mm.inputs] == [((32, 64), "BFLOAT16"),
                                                                           ((64, 32), "BFLOAT8_B")]
    assert mm.inputs[1].logical == (64, 16)  # the bf8 shard is padded to a 32-wide tile
    assert [(t.shape, t.dtype) for t in mm.outputs] == [((32, 32), "BFLOAT16")]
    assert mm.flops == 2 * 32 * 32 * 64 and mm.mesh == (1, 8) and mm.devices == 8
    assert ag.op == "all_gather" and (ag.ccl.kind, ag.ccl.group, ag.ccl.topology) == ("all_gather", 8, "Ring")
    n = len(log.records)
    ttnn.matmul(a, b)
    assert len(log.records) == n  # outside the block: nothing recorded


def test_replicated_cache_takes_per_device_writes_and_costs_one_copy(ttnn, open_mesh):
    """A replicated KV cache is stored once on the host, yet each device's update lands only on that
    device (a shared-storage bug here once corrupted every 1x8 decode step)."""
    mesh = open_mesh(1, 8)
    cache = ttnn.zeros((1, 1, 32, 32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
    shards = ttnn.get_device_tensors(cache)
    assert len({id(s._shards[0]) for s in shards}) == 1  # one host copy for 8 replicas
    rows = torch.arange(8, dtype=torch.float32).reshape(8, 1, 1, 1).expand(8, 1, 1, 32)  # device d writes d
    update = ttnn.from_torch(rows.reshape(1, 8, 1, 32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                             mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))  # [1, nkv=1, batch=1, dh] per device
    ttnn.update_cache(cache, update, 5)
    for d, shard in enumerate(ttnn.get_device_tensors(cache)):
        host = ttnn.to_torch(shard)
        assert torch.equal(host[0, 0, 5], torch.full((32,), float(d), dtype=torch.bfloat16)), d
        assert host[0, 0, :5].abs().sum() == 0 and host[0, 0, 6:].abs().sum() == 0


@pytest.mark.parametrize("width, ops", [
    (256, [("reduce_scatter", [1, 1, 32, 256], [1, 1, 32, 32]), ("all_gather", [1, 1, 32, 32], [1, 1, 32, 256])]),
    # 64 = 2 tiles: no whole tile per device on 8 -> every device gathers all 8 tensors and sums them
    (64, [("all_gather", [1, 1, 32, 64], [8, 1, 32, 64]), ("sum", [8, 1, 32, 64], [1, 1, 32, 64])]),
])
def test_all_reduce_runs_the_ops_of_0_81_1_composite(ttnn, open_mesh, width, ops):
    mesh = open_mesh(1, 8)
    parts = torch.randn(8, 1, 1, 32, width)
    x = ttnn.from_torch(parts.reshape(8, 32, width), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    x = ttnn.reshape(x, (1, 1, 32, width))
    with recording() as log:
        out = ttnn.all_reduce(x, cluster_axis=1, topology=ttnn.Topology.Ring)
    got = [(r.op, list(r.inputs[0].shape), list(r.outputs[0].shape)) for r in log.records]
    assert got == ops
    total = ttnn.to_torch(ttnn.get_device_tensors(out)[3]).float()
    assert torch.allclose(total.reshape(32, width), parts.sum(0).reshape(32, width), atol=0.1)
