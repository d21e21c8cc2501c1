"""The module-like ``ttnn`` namespace of the emulator: same public names as ttnn 0.81.1."""
from __future__ import annotations

import inspect
import types

from . import (ccl, dispatch, dtypes, mesh, ops_attention, ops_core, ops_data, ops_eltwise, ops_matmul, ops_reduce,
               sharding, tensor, trace)

_TOP = {
    dtypes: ["bfloat16", "float32", "uint32", "int32", "uint8", "uint16", "bfloat8_b", "bfloat4_b", "DataType",
             "Layout", "ROW_MAJOR_LAYOUT", "TILE_LAYOUT", "TILE_SIZE", "StorageType", "MathFidelity", "ThrottleLevel",
             "Arch", "BufferType", "TensorMemoryLayout", "ShardStrategy", "ShardOrientation", "Topology",
             "MemoryConfig", "DRAM_MEMORY_CONFIG", "L1_MEMORY_CONFIG", "L1_HEIGHT_SHARDED_MEMORY_CONFIG",
             "L1_WIDTH_SHARDED_MEMORY_CONFIG", "L1_BLOCK_SHARDED_MEMORY_CONFIG", "WormholeComputeKernelConfig",
             "DeviceComputeKernelConfig", "init_device_compute_kernel_config", "CoreGrid"],
    sharding: ["CoreCoord", "CoreRange", "CoreRangeSet", "ShardSpec", "num_cores_to_corerangeset",
               "create_sharded_memory_config"],
    tensor: ["Tensor", "Shape"],
    mesh: ["MeshShape", "MeshCoordinate", "MeshDevice", "open_mesh_device", "close_mesh_device", "open_device",
           "close_device", "PlacementShard", "PlacementReplicate", "MeshMapperConfig", "MeshComposerConfig",
           "CppTensorToMesh", "CppMeshToTensor", "TensorToMesh", "MeshToTensor", "shard_tensor_to_mesh_mapper",
           "replicate_tensor_to_mesh_mapper", "create_mesh_mapper", "create_mesh_composer",
           "concat_mesh_to_tensor_composer", "ShardTensorToMesh", "ReplicateTensorToMesh", "ShardTensor2dMesh",
           "ConcatMeshToTensor", "ConcatMesh2dToTensor", "ReplicateTensorToMeshWrapper",
           "FabricConfig", "FabricReliabilityMode", "FabricTensixConfig", "FabricUDMMode", "FabricManagerMode",
           "FabricRouterConfig", "set_fabric_config", "get_fabric_config"],
    ops_core: ["from_torch", "as_tensor", "to_torch", "to_layout", "typecast", "to_device", "from_device",
               "deallocate", "to_memory_config", "get_device_tensors", "zeros", "ones", "full",
               "zeros_like", "ones_like", "copy_host_to_device_tensor", "clone"],
    trace: ["MeshTraceId", "begin_trace_capture", "end_trace_capture", "execute_trace", "release_trace",
            "is_trace_capture_active", "synchronize_device"],
    ops_data: ["reshape", "permute", "transpose", "squeeze", "unsqueeze", "slice", "concat", "pad", "repeat",
               "repeat_interleave", "embedding"],
    ops_eltwise: ["add", "sub", "mul", "div", "multiply", "subtract", "divide", "maximum", "minimum", "eq", "ne",
                  "gt", "ge", "lt", "le", "neg", "abs", "silu", "relu", "tanh", "square", "sqrt", "rsqrt",
                  "reciprocal", "exp", "log", "cos", "sin", "gelu", "sigmoid", "clamp", "where"],
    ops_reduce: ["sum", "mean", "max", "min", "argmax", "topk", "softmax", "rms_norm", "scatter"],
    ops_matmul: ["matmul", "linear"],
    ccl: ["all_gather", "reduce_scatter", "all_reduce"],
}
_TRANSFORMER = {ops_attention: ["scaled_dot_product_attention", "scaled_dot_product_attention_decode"]}
# The paged caches' keywords are not in their 0.81.1 docstrings; they were read from tt-metal's
# ttnn/cpp/ttnn/operations/experimental/paged_cache/paged_cache_nanobind.cpp (the binding of the generation whose
# docstring the dump holds); their checks from the 0.81.1 release binary (checks/attention.py).
_EXPERIMENTAL = {ops_attention: ["rotary_embedding_llama", "rotary_embedding_hf", "paged_update_cache",
                                 "paged_fill_cache"]}
_TOP[ops_attention] = ["fill_cache", "update_cache"]


# Host-side calls that are not device ops: exported as they are (no dtype table, never captured into a trace).
_UNWRAPPED = {"begin_trace_capture", "end_trace_capture", "execute_trace", "release_trace",
              "is_trace_capture_active", "synchronize_device", "set_fabric_config", "get_fabric_config",
              "open_mesh_device", "close_mesh_device", "open_device", "close_device", "num_cores_to_corerangeset",
              "create_sharded_memory_config"}


def _fill(module: types.ModuleType, table: dict) -> None:
    """Exports the names; every op function goes through ``dispatch.wrap`` (documented dtypes, output_tensor,
    trace capture)."""
    for source, names in table.items():
        for name in names:
            value = getattr(source, name)
            if inspect.isfunction(value) and name not in _UNWRAPPED:
                value = dispatch.wrap(f"{module.__name__}.{name}", value)
            setattr(module, name, value)


def build() -> types.ModuleType:
    """A fresh module object used exactly like ``import ttnn``."""
    ttnn = types.ModuleType("ttnn", "Host functional emulator of the TT-NN 0.81.1 API (gptoss-bench).")
    _fill(ttnn, _TOP)
    ttnn.transformer = types.ModuleType("ttnn.transformer")
    _fill(ttnn.transformer, _TRANSFORMER)
    ttnn.experimental = types.ModuleType("ttnn.experimental")
    _fill(ttnn.experimental, _EXPERIMENTAL)
    ttnn.__emulated__ = True
    ttnn.__version__ = None
    return ttnn


# Public names per module path, for the API-conformance test.
def public_names() -> dict[str, list[str]]:
    flat = lambda table: sorted(n for names in table.values() for n in names)
    return {"ttnn": flat(_TOP), "ttnn.transformer": flat(_TRANSFORMER), "ttnn.experimental": flat(_EXPERIMENTAL)}
