"""Fabric and open parameters of multi-device meshes, as on a real Wormhole mesh (see tt_model/emulator/ccl.py
for the sources of each rule)."""
import pytest
import torch


def _replicated(ttnn, mesh, dtype=None):
    return ttnn.from_torch(torch.ones(32, 64), dtype=dtype or ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)


def test_fabric_config_members_and_signature_are_0_81_1s(ttnn):
    assert [m.name for m in ttnn.FabricConfig] == [
        "DISABLED", "FABRIC_1D_NEIGHBOR_EXCHANGE", "FABRIC_1D", "FABRIC_1D_RING", "FABRIC_2D",
        "FABRIC_2D_TORUS_X", "FABRIC_2D_TORUS_Y", "FABRIC_2D_TORUS_XY", "CUSTOM"]
    ttnn.set_fabric_config(ttnn.FabricConfig.FABRIC_1D_RING, ttnn.FabricReliabilityMode.STRICT_INIT, None,
                           ttnn.FabricTensixConfig.DISABLED, ttnn.FabricUDMMode.DISABLED,
                           ttnn.FabricManagerMode.DEFAULT, ttnn.FabricRouterConfig())
    assert ttnn.get_fabric_config() == ttnn.FabricConfig.FABRIC_1D_RING
    with pytest.raises(TypeError, match="config must be ttnn.FabricConfig"):
        ttnn.set_fabric_config("FABRIC_1D_RING")


def test_unfabriced_1x8_refuses_all_reduce_with_a_tt_fatal_line(ttnn):
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 8))
    assert mesh.fabric_config == ttnn.FabricConfig.DISABLED
    x = _replicated(ttnn, mesh)
    for call in (lambda: ttnn.all_reduce(x, cluster_axis=1, topology=ttnn.Topology.Ring),
                 lambda: ttnn.all_gather(x, dim=0),
                 lambda: ttnn.reduce_scatter(x, dim=1)):
        with pytest.raises(RuntimeError) as err:
            call()
        message = str(err.value)
        assert message.startswith("TT_FATAL") and "Trying to get un-initialized fabric context" in message
        assert "\n" not in message
    # an axis of extent 1 never consults the fabric
    assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(ttnn.all_reduce(x, cluster_axis=0))[3]).float(),
                       torch.ones(32, 64))
    ttnn.close_mesh_device(mesh)


def test_1x1_needs_no_fabric(ttnn):
    one = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    x = _replicated(ttnn, one)
    assert torch.equal(ttnn.to_torch(ttnn.all_reduce(x)).float(), torch.ones(32, 64))
    assert tuple(ttnn.all_gather(x, dim=0).shape) == (32, 64)


def test_open_records_parameters_and_the_fabric_in_force(ttnn):
    ttnn.set_fabric_config(ttnn.FabricConfig.FABRIC_1D_RING)
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(4, 8), l1_small_size=8192, trace_region_size=100_000_000,
                                 num_command_queues=2)
    ttnn.set_fabric_config(ttnn.FabricConfig.DISABLED)  # an open mesh keeps the fabric it was opened with
    assert (mesh.l1_small_size, mesh.trace_region_size, mesh.num_command_queues) == (8192, 100_000_000, 2)
    assert mesh.fabric_config == ttnn.FabricConfig.FABRIC_1D_RING
    assert mesh.fabric.reliability_mode == ttnn.FabricReliabilityMode.STRICT_INIT
    x = _replicated(ttnn, mesh)
    assert ttnn.to_torch(ttnn.get_device_tensors(ttnn.all_reduce(x, cluster_axis=1))[0]).float().unique().item() == 8
    ttnn.close_mesh_device(mesh)
    default = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    assert (default.l1_small_size, default.trace_region_size, default.num_command_queues) == (0, 0, 1)
    assert default.fabric_config == ttnn.FabricConfig.DISABLED
    with pytest.raises(TypeError, match="l1_small_size"):
        ttnn.open_mesh_device(ttnn.MeshShape(1, 1), l1_small_size=-1)


def test_ring_on_a_linear_fabric(ttnn, open_mesh):
    # Galaxy: the wrap-around link is not set up by FABRIC_1D -> the route is missing (tt-mlir issue 8013)
    galaxy = open_mesh(4, 8, fabric=ttnn.FabricConfig.FABRIC_1D)
    x = _replicated(ttnn, galaxy)
    with pytest.raises(RuntimeError, match=r"Could not find any forwarding direction from src \(M0, D0\) to dst "
                                           r"\(M0, D7\)"):
        ttnn.all_reduce(x, cluster_axis=1, topology=ttnn.Topology.Ring)
    ttnn.all_reduce(x, cluster_axis=1, topology=ttnn.Topology.Linear)  # a line is fine
    ttnn.all_gather(x, dim=0, cluster_axis=1, topology=ttnn.Topology.Ring)  # all_gather ignores topology=
    # LoudBox 1x8: the ring's chips are adjacent, Ring runs on FABRIC_1D too (same issue)
    loudbox = open_mesh(1, 8, fabric=ttnn.FabricConfig.FABRIC_1D)
    ttnn.all_reduce(_replicated(ttnn, loudbox), cluster_axis=1, topology=ttnn.Topology.Ring)
    # FABRIC_1D_RING sets up the wrap: Ring works on the Galaxy rows and columns
    ring = open_mesh(4, 8)
    y = _replicated(ttnn, ring)
    ttnn.all_reduce(y, cluster_axis=1, topology=ttnn.Topology.Ring)
    ttnn.all_reduce(y, cluster_axis=0, topology=ttnn.Topology.Ring)


def test_l1_small_size_only_matters_for_l1_small_semaphores(ttnn, open_mesh):
    mesh = open_mesh(1, 8)  # l1_small_size 0, as tt-metal's gpt_oss opens it
    x = ttnn.from_torch(torch.ones(32, 256), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
    ttnn.reduce_scatter(x, dim=1)  # semaphores in L1 by default
    ttnn.all_gather(x, dim=0, use_l1_small_for_semaphores=True)  # "Deprecated and ignored" for all_gather
    with pytest.raises(RuntimeError, match="Out of Memory: Not enough space to allocate .* L1_SMALL buffer"):
        ttnn.reduce_scatter(x, dim=1, use_l1_small_for_semaphores=True)
    roomy = open_mesh(1, 8, l1_small_size=32768)
    y = ttnn.from_torch(torch.ones(32, 256), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=roomy)
    assert tuple(ttnn.reduce_scatter(y, dim=1, use_l1_small_for_semaphores=True).shape) == (32, 32)


def test_all_reduce_without_axis_on_a_2d_mesh_reduces_axis_0_then_1(ttnn, open_mesh):
    mesh = open_mesh(4, 8)
    vals = torch.arange(32, dtype=torch.float32).reshape(32, 1, 1).expand(32, 32, 32).contiguous()
    t = ttnn.from_torch(vals, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    out = ttnn.get_device_tensors(ttnn.all_reduce(t))
    assert all(ttnn.to_torch(d).unique().item() == sum(range(32)) for d in out)


def test_bfloat8_b_all_reduce_accumulates_in_bfloat16(ttnn, open_mesh):
    """0.81.1 all_reduce docstring: BFLOAT8_B inputs are up-cast to BFLOAT16 for the reduction and cast back."""
    mesh = open_mesh(1, 8)
    # Devices 1..7 hold 2^-9 alone in a block (exact); device 0 holds a 1.0 in that block. Rounded to bfloat8_b
    # after every hop, the running 2^-9 sums share the block with 1.0 (step 2^-6) and flush to 0; summed in
    # bfloat16, 7 * 2^-9 survives and the final cast rounds it to 2^-6.
    x = torch.zeros(8, 1, 32, 32)
    x[1:, 0, 0, 0] = 2.0 ** -9
    x[0, 0, 0, 1] = 1.0
    t = ttnn.from_torch(x, dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    out = ttnn.to_torch(ttnn.get_device_tensors(ttnn.all_reduce(t, cluster_axis=1))[0]).float()
    assert out[0, 0, 0, 1].item() == 1.0 and out[0, 0, 0, 0].item() == 2.0 ** -6


@pytest.mark.parametrize("rows, cols", [(1, 8), (4, 8), (1, 1)])
def test_tt_model_opens_and_closes_meshes_like_tt_metal_gpt_oss(ttnn, rows, cols):
    from tt_model.mesh import GPT_OSS_TRACE_REGION_SIZE, MeshConfig, close_mesh, open_mesh

    config = MeshConfig(rows, cols)
    mesh = open_mesh(ttnn, config)
    multi = rows * cols > 1
    assert mesh.fabric_config == (ttnn.FabricConfig.FABRIC_1D_RING if multi else ttnn.FabricConfig.DISABLED)
    assert (mesh.trace_region_size, mesh.l1_small_size, mesh.num_command_queues) == (100_000_000, 0, 1)
    assert GPT_OSS_TRACE_REGION_SIZE == 100_000_000
    if multi:
        x = _replicated(ttnn, mesh)
        ttnn.all_reduce(x, cluster_axis=1, topology=ttnn.Topology.Ring)
        ttnn.all_gather(x, dim=0, cluster_axis=1)
    close_mesh(ttnn, mesh, config)
    assert not mesh.is_open and ttnn.get_fabric_config() == ttnn.FabricConfig.DISABLED
