"""Collectives over the virtual mesh: all_gather, reduce_scatter, all_reduce (optionally along one mesh axis).

Reductions accumulate in ring order and round after every hop, as a ring reduce on the device adds in the
tensor format (all_reduce: BFLOAT8_B is up-cast to BFLOAT16 for the reduction and cast back, per its 0.81.1
docstring). Each collective is recorded with its kind, group size, resolved topology and num_links; the cost
model turns that into algorithm steps over the Ethernet links (``tt_model.costmodel``).

Fabric rules (what the real library does; sources in the comments):
* A collective among more than one device needs the fabric the mesh was opened with. Without one the real op
  stops in the fabric topology/connection lookup with ``TT_FATAL ... Trying to get un-initialized fabric
  context`` (tt-metal ``tt_metal/fabric/control_plane.cpp`` ``ControlPlane::get_fabric_context``). A group of
  one device (an axis of extent 1) never consults the fabric.
* The topology is resolved as ``ttnn.get_usable_topology`` documents: the requested one, else the fabric's;
  Ring/Torus is demoted to Linear/Mesh when the group does not wrap (extent <= 2). all_gather ignores its
  ``topology`` keyword ("Deprecated and ignored" in its 0.81.1 docstring) and always uses the fabric's.
* A Ring that survives on a fabric without the wrap-around link (e.g. FABRIC_1D) fails on a 2-D mesh (Galaxy)
  with ``Could not find any forwarding direction from src (M0, Da) to dst (M0, Db)`` (tenstorrent/tt-mlir
  issue 8013); on a single-row mesh (LoudBox / T3K 1x8) the ring's chips are physically adjacent and it runs
  (same issue).
* CCL semaphores live in L1 unless ``use_l1_small_for_semaphores=True`` (reduce_scatter; tt-metal CCL program
  factories pick ``BufferType::L1_SMALL`` only then), so ``l1_small_size=0`` only fails that case, with the
  allocator's out-of-memory message. all_gather documents the keyword as ignored.
"""
from __future__ import annotations

import torch

from . import executed
from .records import CclInfo
from .dtypes import TILE_SIZE, DataType, Layout, Topology
from .mesh import FabricConfig
from .ops_common import as_float, require_device, require_fp32_dest, store

_FABRIC_TOPOLOGY = {
    FabricConfig.FABRIC_1D_NEIGHBOR_EXCHANGE: Topology.NeighborExchange,
    FabricConfig.FABRIC_1D: Topology.Linear,
    FabricConfig.FABRIC_1D_RING: Topology.Ring,
    FabricConfig.FABRIC_2D: Topology.Mesh,
    FabricConfig.FABRIC_2D_TORUS_X: Topology.Torus,
    FabricConfig.FABRIC_2D_TORUS_Y: Topology.Torus,
    FabricConfig.FABRIC_2D_TORUS_XY: Topology.Torus,
    FabricConfig.CUSTOM: Topology.Linear,
}
# Global semaphores: one 4-byte word per worker core, aligned to the 16-byte L1 alignment, on the 8x8 grid.
_SEMAPHORE_BANK_BYTES = 16
_WORKER_CORES = 64


def _groups(tensor, cluster_axis):
    """Lists of device indices that communicate, for every device (row-major)."""
    mesh = tensor._mesh
    rows, cols = mesh.shape
    n = rows * cols
    if cluster_axis is None:
        return [list(range(n))] * n
    if cluster_axis == 0:
        return [[r * cols + (i % cols) for r in range(rows)] for i in range(n)]
    if cluster_axis == 1:
        return [[(i // cols) * cols + c for c in range(cols)] for i in range(n)]
    raise RuntimeError(f"TT_FATAL: cluster_axis must be 0, 1 or None, got {cluster_axis}")


def _fabric_wraps(config: FabricConfig, cluster_axis) -> bool:
    """Whether the fabric has the wrap-around link along ``cluster_axis`` (0 = rows/Y, 1 = columns/X)."""
    if config in (FabricConfig.FABRIC_1D_RING, FabricConfig.FABRIC_2D_TORUS_XY):
        return True
    if config == FabricConfig.FABRIC_2D_TORUS_X:
        return cluster_axis == 1
    if config == FabricConfig.FABRIC_2D_TORUS_Y:
        return cluster_axis == 0
    return False


def _check_fabric(name, tensor, groups, cluster_axis, topology):
    """Raises as the real op does when the fabric cannot carry this collective; returns the usable topology."""
    mesh = tensor._mesh
    size = len(groups[0])
    if size <= 1:
        return topology  # nothing to send: the fabric is never consulted
    fabric = mesh.fabric_config
    if fabric == FabricConfig.DISABLED:
        raise RuntimeError(f"TT_FATAL: {name}: Trying to get un-initialized fabric context (mesh "
                           f"{mesh.shape[0]}x{mesh.shape[1]} was opened without a fabric; call "
                           "ttnn.set_fabric_config(ttnn.FabricConfig.FABRIC_1D_RING) before ttnn.open_mesh_device)")
    usable = topology if topology is not None else _FABRIC_TOPOLOGY[fabric]
    if usable in (Topology.Ring, Topology.Torus) and size <= 2:
        usable = Topology.Linear if usable == Topology.Ring else Topology.Mesh
    rows, cols = mesh.shape
    if usable == Topology.Ring and rows > 1 and cols > 1 and not _fabric_wraps(fabric, cluster_axis):
        g = groups[0]
        raise RuntimeError(f"TT_FATAL: {name}: Could not find any forwarding direction from src (M0, D{g[0]}) to "
                           f"dst (M0, D{g[-1]}) (Topology.Ring needs the wrap-around link, which "
                           f"{fabric!r} does not set up on a {rows}x{cols} mesh)")
    return usable


def _per_group(groups, fn):
    """One result per communicating group, shared by its devices (their results are identical)."""
    done = {}
    return [done[tuple(g)] if tuple(g) in done else done.setdefault(tuple(g), fn(g)) for g in groups]


def _log(name, inp, out, groups, topology, num_links, cluster_axis):
    group = len(groups[0])
    info = CclInfo(kind=name, group=group, topology=getattr(topology, "name", str(topology)),
                            links=num_links, cluster_axis=cluster_axis)
    executed.emit(name, (inp,), (out,), ccl=info)


def _ring_sum(parts, dtype):
    acc = as_float(parts[0])
    for p in parts[1:]:
        acc = store(acc + as_float(p), dtype)
    return acc


def all_gather(input_tensor, dim, *, cluster_axis=None, memory_config=None, output_tensor=None, subdevice_id=None,
               sub_core_grids=None, num_links=None, topology=None, chunks_per_sync=None, num_workers_per_link=None,
               num_buffers_per_channel=None, use_l1_small_for_semaphores=False):
    require_device("all_gather", input_tensor)
    groups = _groups(input_tensor, cluster_axis)
    # topology / use_l1_small_for_semaphores: "Deprecated and ignored" (0.81.1 docstring): the fabric decides.
    usable = _check_fabric("all_gather", input_tensor, groups, cluster_axis, None)
    shards = _per_group(groups, lambda g: torch.cat([input_tensor._shards[j] for j in g], dim=dim))
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    _log("all_gather", input_tensor, out, groups, usable, num_links, cluster_axis)
    return out


def reduce_scatter(input_tensor, dim, *, cluster_axis=None, subdevice_id=None, memory_config=None,
                   intermediate_memory_config=None, output_tensor=None, num_links=None, topology=None,
                   chunks_per_sync=None, num_workers_per_link=None, num_buffers_per_channel=None,
                   compute_kernel_config=None, use_l1_small_for_semaphores=False):
    require_device("reduce_scatter", input_tensor)
    require_fp32_dest("reduce_scatter", compute_kernel_config)  # adds are emulated at full precision per hop
    groups = _groups(input_tensor, cluster_axis)
    usable = _check_fabric("reduce_scatter", input_tensor, groups, cluster_axis, topology)
    l1_small = input_tensor._mesh.l1_small_size
    if use_l1_small_for_semaphores and len(groups[0]) > 1 and l1_small < _SEMAPHORE_BANK_BYTES:
        raise RuntimeError(
            "TT_FATAL: reduce_scatter: Out of Memory: Not enough space to allocate "
            f"{_SEMAPHORE_BANK_BYTES * _WORKER_CORES} B L1_SMALL buffer across {_WORKER_CORES} banks, where each "
            f"bank needs to store {_SEMAPHORE_BANK_BYTES} B, but bank size is {l1_small} B "
            "(use_l1_small_for_semaphores=True needs open_mesh_device(l1_small_size=...))")
    totals = _per_group(groups, lambda g: _ring_sum([input_tensor._shards[j] for j in g], input_tensor.dtype))
    shards = []
    for i, g in enumerate(groups):
        total = totals[i]
        if total.shape[dim] % len(g):
            raise RuntimeError(f"TT_FATAL: reduce_scatter dim {dim} of size {total.shape[dim]} is not divisible "
                               f"by the {len(g)} devices of the ring")
        shards.append(torch.chunk(total, len(g), dim=dim)[g.index(i)].contiguous())
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    _log("reduce_scatter", input_tensor, out, groups, usable, num_links, cluster_axis)
    return out


def all_reduce(input_tensor, *, cluster_axis=None, subdevice_id=None, memory_config=None, num_links=None,
               topology=None):
    require_device("all_reduce", input_tensor)
    rows, cols = input_tensor._mesh.shape
    if cluster_axis is None and rows > 1 and cols > 1:
        # tt-metal all_reduce.cpp: on a mesh that is not a line, reduce along axis 0, then axis 1.
        out = all_reduce(input_tensor, cluster_axis=0, subdevice_id=subdevice_id, memory_config=memory_config,
                         num_links=num_links, topology=topology)
        return all_reduce(out, cluster_axis=1, subdevice_id=subdevice_id, memory_config=memory_config,
                          num_links=num_links, topology=topology)
    groups = _groups(input_tensor, cluster_axis)
    usable = _check_fabric("all_reduce", input_tensor, groups, cluster_axis, topology)
    dtype = input_tensor.dtype
    acc_dtype = DataType.BFLOAT16 if dtype == DataType.BFLOAT8_B else dtype

    def reduce(g):
        total = _ring_sum([input_tensor._shards[j] for j in g], acc_dtype)
        return store(total, dtype) if acc_dtype != dtype else total

    shards = _per_group(groups, reduce)
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    _log_all_reduce(input_tensor, out, groups, usable, num_links, cluster_axis)
    return out


def splits_evenly(tensor, group: int) -> bool:
    """0.81.1's all_reduce (experimental all_reduce_async + ccl composite_common.cpp use_composite_reduce_scatter)
    takes reduce_scatter + all_gather on the last dim only when the tensor is TILE and its width splits into whole
    tiles per device: (W / 32) % N == 0 and (W / N) % 32 == 0. Otherwise it broadcasts every device's tensor to
    all (an all-gather: N times the data) and reduces locally."""
    width = tensor.padded_shape[-1]
    return tensor.layout == Layout.TILE and (width // TILE_SIZE) % group == 0 and (width // group) % TILE_SIZE == 0


def _log_all_reduce(inp, out, groups, topology, num_links, cluster_axis) -> None:
    """Records the ops the device runs for one all_reduce, so the cost model prices what really moves."""
    group = len(groups[0])
    if group <= 1:
        _log("all_reduce", inp, out, groups, topology, num_links, cluster_axis)
        return
    if splits_evenly(inp, group):
        scattered = _shape_twin(inp, [*inp.shape[:-1], inp.shape[-1] // group])
        _log("reduce_scatter", inp, scattered, groups, topology, num_links, cluster_axis)
        _log("all_gather", scattered, out, groups, topology, num_links, cluster_axis)
        return
    gathered = _shape_twin(inp, [group, *inp.shape[1:]] if inp.shape.rank else [group])
    _log("all_gather", inp, gathered, groups, topology, num_links, cluster_axis)
    executed.emit("sum", (gathered,), (out,))


def _shape_twin(like, shape):
    """A device tensor of ``shape`` that holds no values: the intermediate a composite CCL allocates."""
    meta = torch.empty(shape, dtype=like._shards[0].dtype, device="meta")
    return like.with_shards([meta] * like.num_devices)
