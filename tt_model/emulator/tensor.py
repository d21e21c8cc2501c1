"""The emulated ttnn.Tensor: per-device float32 (or integer) shards plus dtype, layout, storage and memory config.

Block-float and bfloat16 tensors store the *decoded* float32 values the device would hold, so an op reads
them without decoding again. Tile padding is implicit: shards hold the logical shape and ``padded_shape``
is derived from the layout.
"""
from __future__ import annotations

import math

import torch

from .dtypes import (ELEMENT_BYTES, INTEGER, TILE_SIZE, DataType, Layout, MemoryConfig, StorageType,
                     DRAM_MEMORY_CONFIG)


class Shape(tuple):
    """ttnn.Shape: a tuple with rank and a few helpers."""

    def __new__(cls, dims=()):
        return super().__new__(cls, (int(d) for d in dims))

    @property
    def rank(self) -> int:
        return len(self)

    def with_tile_padding(self) -> "Shape":
        return padded_shape(self, Layout.TILE)


def padded_shape(shape, layout: Layout) -> Shape:
    dims = list(shape)
    if layout == Layout.TILE:
        for i in (-1, -2):
            if len(dims) >= -i:
                dims[i] = math.ceil(dims[i] / TILE_SIZE) * TILE_SIZE
    return Shape(dims)


class Tensor:
    def __init__(self, shards: list[torch.Tensor], dtype: DataType, layout: Layout, mesh=None,
                 storage: StorageType = StorageType.HOST, memory_config: MemoryConfig | None = None,
                 placement: str = "host", allocate: bool = True):
        self._shards = shards
        self._dtype = dtype
        self._layout = layout
        self._mesh = mesh
        self._storage = storage
        self._memory_config = memory_config or DRAM_MEMORY_CONFIG
        self.placement = placement
        self._deallocated = False
        self._fidelity_cache: dict = {}
        self._allocation = None
        # a replayed trace allocates nothing on a device: its buffers are the ones the capture made
        if allocate and storage == StorageType.DEVICE and mesh is not None and not mesh.replaying:
            mesh.memory.allocate(self)  # refuses what does not fit; freed with the tensor (memory.py)

    # --- properties as on the real Tensor ---
    @property
    def shape(self) -> Shape:
        return Shape(self._shards[0].shape)

    @property
    def logical_shape(self) -> Shape:
        return self.shape

    @property
    def padded_shape(self) -> Shape:
        return padded_shape(self.shape, self._layout)

    @property
    def dtype(self) -> DataType:
        return self._dtype

    def get_dtype(self) -> DataType:
        return self._dtype

    @property
    def layout(self) -> Layout:
        return self._layout

    def get_layout(self) -> Layout:
        return self._layout

    @property
    def storage_type(self) -> StorageType:
        return self._storage

    def storage_type_(self) -> StorageType:
        return self._storage

    def memory_config(self) -> MemoryConfig:
        return self._memory_config

    def device(self):
        return self._mesh if self._storage == StorageType.DEVICE else None

    def is_allocated(self) -> bool:
        return not self._deallocated

    def is_sharded(self) -> bool:
        return self._memory_config.is_sharded()

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"ttnn.Tensor(shape={list(self.shape)}, dtype={self._dtype.name}, layout={self._layout.name}, "
                f"storage={self._storage.name}, devices={len(self._shards)})")

    # The real Tensor's conversion methods (to, cpu, to_torch, reshape) are the ops of ops_core / ops_data,
    # attached there: this module sits below the ops and imports none of them.

    def deallocate(self, force: bool = True):
        if not self._deallocated and self._mesh is not None and self._storage == StorageType.DEVICE:
            self._mesh.memory.release(self)
        self._deallocated = True

    # --- helpers for the emulator ---
    def nbytes_per_device(self) -> float:
        return math.prod(self.padded_shape) * ELEMENT_BYTES[self._dtype]

    @property
    def num_devices(self) -> int:
        return len(self._shards)

    def with_shards(self, shards, dtype: DataType | None = None, layout: Layout | None = None,
                    memory_config: MemoryConfig | None = None) -> "Tensor":
        return Tensor(canonical(shards), dtype or self._dtype, layout or self._layout, self._mesh, self._storage,
                      memory_config or self._memory_config, self.placement)

    def _replace_shards(self, shards: list[torch.Tensor]) -> None:
        """Writes new contents into this very tensor (every holder sees them); matmul's truncated weight slices
        cached from the old contents are dropped."""
        self._shards = shards
        self._fidelity_cache.clear()


def canonical(shards: list) -> list:
    """Shape-only shards of equal shape and dtype are interchangeable: one object for all of them, so every later
    op computes them once (a 4x8 mesh would otherwise redo each meta op for up to 32 distinct objects)."""
    if not shards or not shards[0].is_meta:
        return shards
    first: dict[tuple, torch.Tensor] = {}
    return [first.setdefault((tuple(s.shape), s.dtype), s) for s in shards]


def is_float(dtype: DataType) -> bool:
    return dtype not in INTEGER
