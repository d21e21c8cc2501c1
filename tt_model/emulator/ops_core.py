"""Tensor creation and movement: from_torch / to_torch, layouts, dtypes, host <-> device."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ground.fsutil import atomic_write

from . import executed, trace
from .checks import memory as memory_checks
from .dtypes import (INTEGER, DataType, Layout, StorageType, dtype_from_torch, DRAM_MEMORY_CONFIG)
from .mesh import ReplicateTensorToMeshWrapper
from .ops_common import make_output, per_device, reject, require_device, require_tile_for_block_float, store
from .sharding import check_fits
from .tensor import Tensor


def _shards_for(tensor: torch.Tensor, device, mesh_mapper) -> tuple[list[torch.Tensor], str]:
    if getattr(device, "shape_only", False) and not tensor.is_meta:
        tensor = tensor.to("meta")  # a shape-only mesh holds shapes and dtypes, never values
    if mesh_mapper is not None:
        return mesh_mapper.map(tensor), mesh_mapper.description
    n = device.get_num_devices() if device is not None else 1
    return [tensor] * n, "replicate" if n > 1 else "single"


def from_torch(tensor, dtype=None, *, spec=None, tile=None, pad_value=None, layout=Layout.ROW_MAJOR, device=None,
               memory_config=None, mesh_mapper=None, cq_id=0, col_tilize=False, enable_bfloat_opt=False):
    if tensor is None:
        return None
    # pad_value only fills tile padding (never read back: shards hold the logical shape); cq_id picks a queue.
    reject("from_torch", spec=(spec, None), tile=(tile, None), enable_bfloat_opt=(enable_bfloat_opt, False))
    dtype = dtype if dtype is not None else dtype_from_torch(tensor.dtype)
    layout = layout if layout is not None else Layout.ROW_MAJOR
    require_tile_for_block_float(dtype, layout)
    x = tensor.detach()
    if col_tilize:
        x = x.transpose(-1, -2)
    # Narrow float inputs stay narrow until store() rounds them a shard (and a chunk) at a time: a bfloat16
    # 20B lm_head upcast whole would be a 2.3 GB temporary.
    if dtype in INTEGER:
        x = x.to(torch.int64)
    elif x.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        x = x.to(torch.float32)
    mesh = device if device is not None else getattr(mesh_mapper, "mesh_device", None)
    if device is not None:
        trace.check_host_access(device, "from_torch to a device (a host write)")
    shards, placement = _shards_for(x, mesh, mesh_mapper)
    # Replicated shards are one torch tensor repeated; store it once so an 8-device replica costs one copy
    # of host memory (the in-place cache ops copy shared shards before writing).
    converted: dict[int, torch.Tensor] = {}
    stored = []
    for s in shards:
        if id(s) not in converted:
            converted[id(s)] = store(s.contiguous(), dtype)
        stored.append(converted[id(s)])
    out = Tensor(stored, dtype, layout, mesh, StorageType.DEVICE if device is not None else StorageType.HOST,
                 memory_config or DRAM_MEMORY_CONFIG, placement)
    if device is not None:
        executed.emit("from_torch", (), (out,), host=True)
    return out


# ---------------------------------------------------------------- as_tensor and its cache files
CACHE_FORMAT = "gptoss-bench emulated ttnn tensor"
CACHE_VERSION = 1


def cache_path(cache_file_name, dtype, layout) -> Path:
    """The file ttnn 0.81.1's as_tensor uses (ttnn/ttnn/operations/core.py):
    ``f"{cache_file_name}_dtype_{dtype.name}_layout_{layout.name}.tensorbin"``; not keyed on the mesh mapper."""
    dtype_name = dtype.name if dtype is not None else "None"
    layout_name = layout.name if layout is not None else "None"
    return Path(f"{cache_file_name}_dtype_{dtype_name}_layout_{layout_name}.tensorbin")


def _dump(path: Path, tensor: Tensor) -> None:
    """Writes a host tensor atomically: a temp file unique to this fill, then a rename."""
    unique, index = [], []
    seen: dict[int, int] = {}
    for s in tensor._shards:
        if id(s) not in seen:
            seen[id(s)] = len(unique)
            unique.append(s.contiguous())
        index.append(seen[id(s)])
    payload = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "dtype": tensor.dtype.name,
               "layout": tensor.layout.name, "placement": tensor.placement, "shards": unique, "index": index}
    # no fsync: a file a crash leaves incomplete fails to load and is converted again (as_tensor)
    atomic_write(path, lambda tmp: torch.save(payload, tmp), fsync=False)


def _load(path: Path, mesh) -> Tensor:
    """A host tensor from a cache file; RuntimeError for anything that is not a complete emulator cache file."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
            raise ValueError("not an emulator tensor cache file")
        if payload.get("version") != CACHE_VERSION:
            raise ValueError(f"cache format version {payload.get('version')}, expected {CACHE_VERSION}")
        unique = payload["shards"]
        shards = [unique[i] for i in payload["index"]]
        dtype, layout = DataType[payload["dtype"]], Layout[payload["layout"]]
        if not shards or not all(isinstance(s, torch.Tensor) for s in shards):
            raise ValueError("no shards")
    except Exception as exc:  # truncated, garbage, foreign or old-format file
        raise RuntimeError(f"Unable to load the tensor from {path}: {type(exc).__name__}: {exc}") from exc
    return Tensor(shards, dtype, layout, mesh, StorageType.HOST, DRAM_MEMORY_CONFIG, payload.get("placement", "host"))


def as_tensor(tensor, dtype=None, *, layout=Layout.ROW_MAJOR, device=None, memory_config=None,
              cache_file_name=None, preprocess=None, mesh_mapper=None, cache_dump_mode=None):
    """ttnn 0.81.1's as_tensor: without ``cache_file_name`` a from_torch (after ``preprocess``). With it, a hit
    loads the file and ignores ``tensor`` and ``preprocess``; a miss converts on the host (a
    ReplicateTensorToMesh tensor unsharded, so the file loads onto any mesh), writes the file, then moves it to
    ``device``. A file that cannot be loaded is converted and written again (a warning), as the real one does.
    ``cache_dump_mode`` (multi-host DISTRIBUTED_GATHER vs LOCAL) changes nothing on one host: every fill is
    written through a temp file and a rename."""
    if device is not None and memory_config is None:
        raise RuntimeError("memory_config must be specified when device is specified")

    def convert(dev, mapper):
        src = preprocess(tensor) if preprocess is not None else tensor
        return from_torch(src, dtype, layout=layout, device=dev, memory_config=memory_config, mesh_mapper=mapper)

    if cache_file_name is None:
        return convert(device, mesh_mapper)
    path = cache_path(cache_file_name, dtype, layout)
    mesh = device if device is not None else getattr(mesh_mapper, "mesh_device", None)
    if path.is_file():
        try:
            host = _load(path, mesh)
        except RuntimeError as exc:
            warnings.warn(f"Failed to load cache for {path}: {exc}; converting again", RuntimeWarning, stacklevel=2)
        else:
            return to_device(host, device, memory_config=memory_config) if device is not None else host
    replicated = isinstance(mesh_mapper, ReplicateTensorToMeshWrapper)
    host = convert(None, None if replicated else mesh_mapper)
    _dump(path, host)
    return to_device(host, device, memory_config=memory_config) if device is not None else host


def _torch_dtype(dtype: DataType) -> torch.dtype:
    if dtype == DataType.BFLOAT16:
        return torch.bfloat16
    if dtype in INTEGER:
        return torch.int32
    return torch.float32


def to_torch(tensor, dtype=None, *, torch_rank=None, mesh_composer=None, device=None, cq_id=0):
    if tensor.storage_type == StorageType.DEVICE:
        trace.check_host_access(tensor, "to_torch of a device tensor (a host read)")
    if tensor.num_devices > 1:
        if mesh_composer is None:
            raise RuntimeError("TT_FATAL: to_torch of a tensor distributed over "
                               f"{tensor.num_devices} devices needs a mesh_composer (e.g. ttnn.ConcatMeshToTensor)")
        out = mesh_composer.compose(tensor._shards)
    else:
        out = tensor._shards[0]
    out = out.to(dtype if dtype is not None else _torch_dtype(tensor.dtype))
    if torch_rank is not None:
        while out.dim() > torch_rank:
            if out.shape[0] != 1:
                raise RuntimeError(f"to_torch: cannot squeeze shape {tuple(out.shape)} to rank {torch_rank}")
            out = out.squeeze(0)
    return out


def to_layout(tensor, layout, dtype=None, memory_config=None, sub_core_grids=None, pad_value=None):
    out_dtype = dtype or tensor.dtype
    require_tile_for_block_float(out_dtype, layout)
    return make_output(tensor, tensor._shards, dtype=out_dtype, layout=layout,
                       memory_config=memory_config or tensor.memory_config(), name="to_layout")


def typecast(input_tensor, dtype, *, memory_config=None, output_tensor=None):
    memory_checks.typecast(input_tensor, memory_config)
    require_tile_for_block_float(dtype, input_tensor.layout)
    shards = input_tensor._shards
    if dtype not in INTEGER and input_tensor.dtype in INTEGER:
        shards = per_device(lambda s: s.to(torch.float32), input_tensor)
    return make_output(input_tensor, shards, dtype=dtype, memory_config=memory_config, name="typecast")


def to_device(tensor, device, memory_config=None, queue_id=0):
    if tensor is None:
        return None
    shards = tensor._shards
    placement = tensor.placement
    n = device.get_num_devices()
    if len(shards) == 1 and n > 1:
        shards, placement = shards * n, "replicate"
    elif len(shards) != n:
        raise RuntimeError(f"to_device: tensor has {len(shards)} shards but the mesh has {n} devices")
    trace.check_host_access(device, "to_device (a host write)")
    if getattr(device, "shape_only", False):
        shards = _shape_only(shards)
    out = Tensor(list(shards), tensor.dtype, tensor.layout, device, StorageType.DEVICE,
                 memory_config or tensor.memory_config(), placement)
    executed.emit("to_device", (), (out,), host=True)
    return out


def _shape_only(shards: list) -> list:
    """The shards a shape-only mesh holds: meta tensors, one per distinct shard (replicas stay one object)."""
    meta: dict[int, torch.Tensor] = {}
    for s in shards:
        if id(s) not in meta:
            meta[id(s)] = s if s.is_meta else s.to("meta")
    return [meta[id(s)] for s in shards]


def from_device(tensor, blocking=True, queue_id=0):
    trace.check_host_access(tensor, "from_device (a host read)")
    out = Tensor(tensor._shards, tensor.dtype, tensor.layout, tensor._mesh, StorageType.HOST,
                 tensor.memory_config(), tensor.placement)
    executed.emit("from_device", (tensor,), (), host=True)
    return out


def copy_host_to_device_tensor(host_tensor, device_tensor, cq_id=None):
    """Writes a host tensor into an allocated device tensor in place (the way a traced model feeds new inputs:
    the trace keeps reading the same device tensor). Same shape, dtype and layout required (0.81.1 docstring)."""
    trace.check_host_access(device_tensor, "copy_host_to_device_tensor (a host write)")
    if host_tensor.storage_type != StorageType.HOST or device_tensor.storage_type != StorageType.DEVICE:
        raise RuntimeError("TT_FATAL: copy_host_to_device_tensor copies a host tensor into a device tensor")
    same = (tuple(host_tensor.shape), host_tensor.dtype, host_tensor.layout) == (
        tuple(device_tensor.shape), device_tensor.dtype, device_tensor.layout)
    if not same:
        raise RuntimeError(f"TT_FATAL: Host and Device tensors must be the same shape, have the same datatype, and "
                           f"have the same data layout: host {list(host_tensor.shape)} {host_tensor.dtype.name} "
                           f"{host_tensor.layout.name}, device {list(device_tensor.shape)} "
                           f"{device_tensor.dtype.name} {device_tensor.layout.name}")
    n = device_tensor.num_devices
    shards = host_tensor._shards * n if host_tensor.num_devices == 1 else list(host_tensor._shards)
    if len(shards) != n:
        raise RuntimeError(f"TT_FATAL: host tensor has {len(shards)} shards, the device tensor {n}")
    if getattr(device_tensor._mesh, "shape_only", False):
        shards = _shape_only(shards)
    device_tensor._replace_shards(shards)
    executed.emit("copy_host_to_device_tensor", (), (device_tensor,), host=True)


def deallocate(tensor, force=True):
    tensor.deallocate(force)


def to_memory_config(tensor, memory_config, dtype=None, output_tensor=None):
    require_device("to_memory_config", tensor)
    memory_checks.to_memory_config(tensor, memory_config, dtype)
    check_fits("to_memory_config", tensor.padded_shape, memory_config)
    return make_output(tensor, tensor._shards, dtype=dtype or tensor.dtype, memory_config=memory_config,
                       name="to_memory_config")


def clone(input, *, dtype=None, memory_config=None, compute_kernel_config=None):
    # Real copies: the clone must not see later in-place cache writes to the original.
    require_device("clone", input)
    return make_output(input, per_device(torch.clone, input), dtype=dtype, memory_config=memory_config,
                       name="clone")


def get_device_tensors(tensor) -> list:
    # views of the mesh tensor's per-device buffers: no new allocation
    return [Tensor([s], tensor.dtype, tensor.layout, tensor._mesh, tensor._storage, tensor.memory_config(),
                   f"device[{i}]", allocate=False) for i, s in enumerate(tensor._shards)]


def _filled(shape, value, dtype, layout, device, memory_config):
    dtype = dtype or DataType.BFLOAT16
    layout = layout or Layout.ROW_MAJOR
    x = torch.full(tuple(shape), float(value), dtype=torch.float32)
    return from_torch(x, dtype, layout=layout, device=device, memory_config=memory_config)


def zeros(shape, dtype=None, layout=None, device=None, memory_config=None):
    return _filled(shape, 0.0, dtype, layout, device, memory_config)


def ones(shape, dtype=None, layout=None, device=None, memory_config=None):
    return _filled(shape, 1.0, dtype, layout, device, memory_config)


def full(shape, fill_value, dtype=None, layout=None, device=None, memory_config=None, output_tensor=None):
    return _filled(shape, fill_value, dtype, layout, device, memory_config)


def zeros_like(tensor, dtype=None, layout=None, device=None, memory_config=None):
    return make_output(tensor, per_device(torch.zeros_like, tensor), dtype=dtype, layout=layout,
                       name="zeros_like")


def ones_like(tensor, dtype=None, layout=None, device=None, memory_config=None):
    return make_output(tensor, per_device(torch.ones_like, tensor), dtype=dtype, layout=layout,
                       name="ones_like")


# The real ttnn.Tensor's conversion methods.
Tensor.to = lambda self, device, memory_config=None: to_device(self, device, memory_config=memory_config)
Tensor.cpu = lambda self, blocking=True: from_device(self)
Tensor.to_torch = lambda self, mesh_composer=None: to_torch(self, mesh_composer=mesh_composer)
