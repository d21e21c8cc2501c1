"""Virtual mesh devices and the tensor<->mesh mappers/composers of ttnn.distributed."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .dtypes import Arch, CoreGrid


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
    """r x c emulated chips; device i (row-major) holds shard i of every tensor on the mesh."""
    mesh_shape: MeshShape
    is_open: bool = True
    id_: int = 0

    @property
    def shape(self) -> MeshShape:
        return self.mesh_shape

    def get_num_devices(self) -> int:
        return self.mesh_shape.mesh_size()

    def get_device_ids(self) -> list[int]:
        return list(range(self.get_num_devices()))

    def arch(self) -> Arch:
        return Arch.WORMHOLE_B0

    def compute_with_storage_grid_size(self) -> CoreGrid:
        return CoreGrid(y=8, x=8)

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


def open_mesh_device(mesh_shape: MeshShape = None, l1_small_size: int = 0, trace_region_size: int = 0,
                     num_command_queues: int = 1, dispatch_core_config=None, offset=None,
                     physical_device_ids=[], worker_l1_size: int = 0) -> MeshDevice:
    shape = MeshShape(1, 1) if mesh_shape is None else MeshShape(*mesh_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise RuntimeError(f"MeshShape must be 2-D with positive dims, got {tuple(shape)}")
    return MeshDevice(shape)


def close_mesh_device(mesh_device) -> None:
    mesh_device.is_open = False


def open_device(device_id: int = 0, l1_small_size: int = 0, trace_region_size: int = 0,
                dispatch_core_config=None, worker_l1_size: int = 0) -> MeshDevice:
    return MeshDevice(MeshShape(1, 1), id_=device_id)


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
    return list(torch.chunk(tensor, n, dim=dim))


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


def ReplicateTensorToMesh(mesh_device):
    return replicate_tensor_to_mesh_mapper(mesh_device)


def ShardTensor2dMesh(mesh_device, mesh_shape, dims):
    placements = [PlacementReplicate() if d is None else PlacementShard(d) for d in dims]
    return create_mesh_mapper(mesh_device, MeshMapperConfig(placements, MeshShape(*mesh_shape)))


def ConcatMeshToTensor(mesh_device, dim: int):
    return concat_mesh_to_tensor_composer(mesh_device, dim)


def ConcatMesh2dToTensor(mesh_device, mesh_shape, dims):
    return create_mesh_composer(mesh_device, MeshComposerConfig([dims[0], dims[1]], MeshShape(*mesh_shape)))
