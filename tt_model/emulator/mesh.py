"""Virtual mesh devices, the global fabric configuration, and the tensor<->mesh mappers/composers of
ttnn.distributed.

Fabric (ttnn 0.81.1, tt-metal ``ttnn/cpp/ttnn-nanobind/fabric.cpp``): ``ttnn.set_fabric_config`` sets one
process-global fabric configuration, which must be in force *before* ``open_mesh_device``; a mesh keeps the
fabric it was opened with (setting another one later does not change an open mesh). CCLs consult it, see
``ccl.py``. ``close_mesh_device`` does not reset it: tt-metal's fixtures call
``set_fabric_config(FabricConfig.DISABLED)`` after closing.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import torch

from .memory import DeviceMemory
from .dtypes import Arch, CoreGrid
from .sharding import CoreCoord


# ---------------------------------------------------------------- fabric
class FabricConfig(enum.Enum):
    """Member names and values of ttnn 0.81.1 (tt-metalium ``experimental/fabric/fabric_types.hpp``)."""
    DISABLED = 0
    FABRIC_1D_NEIGHBOR_EXCHANGE = 1  # 1D, no forwarding between non-adjacent devices
    FABRIC_1D = 2                    # 1D line routing, no wrap-around
    FABRIC_1D_RING = 3               # 1D routing with the wrap-around link (datelines)
    FABRIC_2D = 4
    FABRIC_2D_TORUS_X = 5
    FABRIC_2D_TORUS_Y = 6
    FABRIC_2D_TORUS_XY = 7
    CUSTOM = 8

    def __repr__(self) -> str:
        return f"FabricConfig.{self.name}"


class FabricReliabilityMode(enum.Enum):
    STRICT_INIT = 0
    RELAXED_INIT = 1
    DYNAMIC_RECONFIG = 2


class FabricTensixConfig(enum.Enum):
    DISABLED = 0
    MUX = 1


class FabricUDMMode(enum.Enum):
    DISABLED = 0
    ENABLED = 1


class FabricManagerMode(enum.Enum):
    DEFAULT = 0
    ENABLED = 1
    INIT_FABRIC = 2
    TERMINATE_FABRIC = 3


class FabricRouterConfig:
    """Router-level parameters; ``max_packet_payload_size_bytes`` None = architecture default."""

    def __init__(self):
        self.max_packet_payload_size_bytes = None

    def __repr__(self) -> str:
        return f"FabricRouterConfig(max_packet_payload_size_bytes={self.max_packet_payload_size_bytes})"


@dataclass(frozen=True)
class FabricSettings:
    """Everything one ``set_fabric_config`` call set (recorded on each mesh at open time)."""
    config: FabricConfig = FabricConfig.DISABLED
    reliability_mode: FabricReliabilityMode = FabricReliabilityMode.STRICT_INIT
    num_planes: int | None = None
    fabric_tensix_config: FabricTensixConfig = FabricTensixConfig.DISABLED
    fabric_udm_mode: FabricUDMMode = FabricUDMMode.DISABLED
    fabric_manager_mode: FabricManagerMode = FabricManagerMode.DEFAULT
    router_config: object = None


_FABRIC = FabricSettings()
# Shape-only mode (an emulator extension, not a ttnn setting): a mesh opened while it is on holds meta tensors,
# shapes and dtypes without values, so a full-size model runs its op sequence (and the modelled clock) without
# weights. Like the fabric, a mesh keeps the mode it was opened with.
_SHAPE_ONLY = False


def set_shape_only(enabled: bool) -> None:
    global _SHAPE_ONLY
    _SHAPE_ONLY = bool(enabled)


def set_fabric_config(config, reliability_mode=FabricReliabilityMode.STRICT_INIT, num_planes=None,
                      fabric_tensix_config=FabricTensixConfig.DISABLED, fabric_udm_mode=FabricUDMMode.DISABLED,
                      fabric_manager_mode=FabricManagerMode.DEFAULT, router_config=None) -> None:
    """Sets the process-global fabric; takes effect for meshes opened afterwards."""
    global _FABRIC
    checks = ((config, FabricConfig, "config"), (reliability_mode, FabricReliabilityMode, "reliability_mode"),
              (fabric_tensix_config, FabricTensixConfig, "fabric_tensix_config"),
              (fabric_udm_mode, FabricUDMMode, "fabric_udm_mode"),
              (fabric_manager_mode, FabricManagerMode, "fabric_manager_mode"))
    for value, kind, name in checks:
        if not isinstance(value, kind):
            raise TypeError(f"set_fabric_config(): incompatible function arguments: {name} must be "
                            f"ttnn.{kind.__name__}, got {value!r}")
    if num_planes is not None and (not isinstance(num_planes, int) or num_planes < 1):
        raise TypeError(f"set_fabric_config(): num_planes must be a positive int or None, got {num_planes!r}")
    _FABRIC = FabricSettings(config, reliability_mode, num_planes, fabric_tensix_config, fabric_udm_mode,
                             fabric_manager_mode, router_config if router_config is not None else FabricRouterConfig())


def get_fabric_config() -> FabricConfig:
    return _FABRIC.config


class MeshShape(tuple):
    def __new__(cls, *dims):
        if len(dims) == 1 and not isinstance(dims[0], int):
            dims = tuple(dims[0])
        return super().__new__(cls, (int(d) for d in dims))

    def mesh_size(self) -> int:
        return math.prod(self)

    @property
    def dims(self) -> int:
        return len(self)


class MeshCoordinate(tuple):
    def __new__(cls, *coords):
        if len(coords) == 1 and not isinstance(coords[0], int):
            coords = tuple(coords[0])
        return super().__new__(cls, (int(c) for c in coords))


@dataclass(eq=False)
class MeshDevice:
    """r x c emulated chips; device i (row-major) holds shard i of every tensor on the mesh.

    The open parameters are recorded as given (``l1_small_size`` etc.) together with the fabric in force
    when the mesh was opened (``fabric``, a FabricSettings; ``fabric_config`` its FabricConfig)."""
    mesh_shape: MeshShape
    is_open: bool = True
    id_: int = 0
    l1_small_size: int = 0
    trace_region_size: int = 0
    num_command_queues: int = 1
    worker_l1_size: int = 0
    dispatch_core_config: object = None
    fabric: FabricSettings = field(default_factory=FabricSettings)
    shape_only: bool = False
    # per-mesh run state: the buffers alive (memory.py), the modelled clocks (clock.py), traces (trace.py)
    memory: DeviceMemory = field(init=False)
    clock_ps: list[int] = field(init=False)
    traces: dict = field(init=False, default_factory=dict)
    capturing: object = field(init=False, default=None)    # the MeshTraceId being captured, if any
    replaying: bool = field(init=False, default=False)

    def __post_init__(self):
        label = f"{self.mesh_shape[0]}x{self.mesh_shape[1]}"
        self.memory = DeviceMemory(label, l1_small_size=self.l1_small_size, trace_region_size=self.trace_region_size)
        self.clock_ps = [0] * self.mesh_shape.mesh_size()

    @property
    def fabric_config(self) -> FabricConfig:
        return self.fabric.config

    @property
    def shape(self) -> MeshShape:
        return self.mesh_shape

    def get_num_devices(self) -> int:
        return self.mesh_shape.mesh_size()

    def get_device_ids(self) -> list[int]:
        return list(range(self.get_num_devices()))

    def arch(self) -> Arch:
        return Arch.WORMHOLE_B0

    def compute_with_storage_grid_size(self) -> CoreCoord:
        return CoreCoord(8, 8)  # x, y: the real call returns a CoreCoord

    @property
    def core_grid(self) -> CoreGrid:
        return CoreGrid(y=8, x=8)

    def dram_grid_size(self) -> CoreGrid:
        return CoreGrid(y=1, x=12)

    def id(self) -> int:
        return self.id_

    def enable_program_cache(self) -> None:
        pass

    def disable_and_clear_program_cache(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"MeshDevice({self.mesh_shape[0]}x{self.mesh_shape[1]}, emulated)"


def _size_arg(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"open_mesh_device(): {name} must be a non-negative int, got {value!r}")
    return value


def open_mesh_device(mesh_shape: MeshShape = None, l1_small_size: int = 0, trace_region_size: int = 0,
                     num_command_queues: int = 1, dispatch_core_config=None, offset=None,
                     physical_device_ids=[], worker_l1_size: int = 0) -> MeshDevice:
    shape = MeshShape(1, 1) if mesh_shape is None else MeshShape(*mesh_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise RuntimeError(f"MeshShape must be 2-D with positive dims, got {tuple(shape)}")
    if num_command_queues not in (1, 2):
        raise RuntimeError(f"TT_FATAL: num_command_queues must be 1 or 2, got {num_command_queues}")
    return MeshDevice(shape, l1_small_size=_size_arg("l1_small_size", l1_small_size),
                      trace_region_size=_size_arg("trace_region_size", trace_region_size),
                      num_command_queues=num_command_queues,
                      worker_l1_size=_size_arg("worker_l1_size", worker_l1_size),
                      dispatch_core_config=dispatch_core_config, fabric=_FABRIC, shape_only=_SHAPE_ONLY)


def close_mesh_device(mesh_device) -> None:
    mesh_device.is_open = False


def open_device(device_id: int = 0, l1_small_size: int = 0, trace_region_size: int = 0,
                dispatch_core_config=None, worker_l1_size: int = 0) -> MeshDevice:
    return MeshDevice(MeshShape(1, 1), id_=device_id, l1_small_size=_size_arg("l1_small_size", l1_small_size),
                      trace_region_size=_size_arg("trace_region_size", trace_region_size),
                      worker_l1_size=_size_arg("worker_l1_size", worker_l1_size),
                      dispatch_core_config=dispatch_core_config, fabric=_FABRIC, shape_only=_SHAPE_ONLY)


def close_device(device) -> None:
    device.is_open = False


# ---------------------------------------------------------------- placements / mappers / composers
@dataclass(frozen=True)
class PlacementShard:
    dim: int


@dataclass(frozen=True)
class PlacementReplicate:
    pass


@dataclass
class MeshMapperConfig:
    placements: list
    mesh_shape_override: MeshShape | None = None


@dataclass
class MeshComposerConfig:
    dims: list
    mesh_shape_override: MeshShape | None = None


@dataclass
class CppTensorToMesh:
    """Splits a torch tensor into one shard per device (row-major device order)."""
    mesh_device: MeshDevice
    placements: list  # one per mesh axis, or a single placement over all devices flattened
    description: str

    def map(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        rows, cols = self.mesh_device.shape
        if len(self.placements) == 1:
            return _place(tensor, self.placements[0], rows * cols)
        out = []
        for row_part in _place(tensor, self.placements[0], rows):
            out.extend(_place(row_part, self.placements[1], cols))
        return out


@dataclass
class CppMeshToTensor:
    mesh_device: MeshDevice
    dims: list  # one concat dim over all devices, or [row_dim, col_dim]

    def compose(self, shards: list[torch.Tensor]) -> torch.Tensor:
        if len(self.dims) == 1:
            return torch.cat(shards, dim=self.dims[0])
        rows, cols = self.mesh_device.shape
        row_parts = [torch.cat(shards[r * cols:(r + 1) * cols], dim=self.dims[1]) for r in range(rows)]
        return torch.cat(row_parts, dim=self.dims[0])


TensorToMesh = CppTensorToMesh
MeshToTensor = CppMeshToTensor


def _place(tensor: torch.Tensor, placement, n: int) -> list[torch.Tensor]:
    if isinstance(placement, PlacementReplicate) or n == 1 and not isinstance(placement, PlacementShard):
        return [tensor] * n
    dim = placement.dim
    if tensor.shape[dim] % n:
        raise RuntimeError(f"Cannot shard dim {dim} of size {tensor.shape[dim]} evenly over {n} devices")
    chunks = list(torch.chunk(tensor, n, dim=dim))
    # Equal meta chunks are indistinguishable: one object for all, so ops compute a shape-only shard once.
    return [chunks[0]] * n if tensor.is_meta else chunks


def shard_tensor_to_mesh_mapper(mesh_device, dim: int) -> CppTensorToMesh:
    return CppTensorToMesh(mesh_device, [PlacementShard(dim)], f"shard(dim={dim})")


def replicate_tensor_to_mesh_mapper(mesh_device) -> CppTensorToMesh:
    return CppTensorToMesh(mesh_device, [PlacementReplicate()], "replicate")


def create_mesh_mapper(mesh_device, config: MeshMapperConfig) -> CppTensorToMesh:
    desc = ",".join("R" if isinstance(p, PlacementReplicate) else f"S{p.dim}" for p in config.placements)
    return CppTensorToMesh(mesh_device, list(config.placements), f"2d({desc})")


def concat_mesh_to_tensor_composer(mesh_device, dim: int) -> CppMeshToTensor:
    return CppMeshToTensor(mesh_device, [dim])


def create_mesh_composer(mesh_device, config: MeshComposerConfig) -> CppMeshToTensor:
    return CppMeshToTensor(mesh_device, list(config.dims))


def ShardTensorToMesh(mesh_device, dim: int):
    return shard_tensor_to_mesh_mapper(mesh_device, dim)


class ReplicateTensorToMeshWrapper:
    """What ttnn 0.81.1's ``ReplicateTensorToMesh`` returns (see its source_head in the API dump). ``as_tensor``
    caches a tensor mapped with it unsharded, so the cache file loads onto any mesh."""

    def __init__(self, mapper: CppTensorToMesh):
        self._mapper = mapper

    def unwrap(self) -> CppTensorToMesh:
        return self._mapper

    # used like the mapper it wraps
    @property
    def mesh_device(self):
        return self._mapper.mesh_device

    @property
    def description(self) -> str:
        return self._mapper.description

    def map(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        return self._mapper.map(tensor)


def ReplicateTensorToMesh(mesh_device):
    return ReplicateTensorToMeshWrapper(replicate_tensor_to_mesh_mapper(mesh_device))


def ShardTensor2dMesh(mesh_device, mesh_shape, dims):
    placements = [PlacementReplicate() if d is None else PlacementShard(d) for d in dims]
    return create_mesh_mapper(mesh_device, MeshMapperConfig(placements, MeshShape(*mesh_shape)))


def ConcatMeshToTensor(mesh_device, dim: int):
    return concat_mesh_to_tensor_composer(mesh_device, dim)


def ConcatMesh2dToTensor(mesh_device, mesh_shape, dims):
    return create_mesh_composer(mesh_device, MeshComposerConfig([dims[0], dims[1]], MeshShape(*mesh_shape)))
