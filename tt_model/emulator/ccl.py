"""Collectives over the virtual mesh: all_gather, reduce_scatter, all_reduce (optionally along one mesh axis).

Reductions accumulate in ring order and round to the tensor's dtype after every hop, as a ring
reduce on the device adds in the tensor format. The op log records bytes moved per link for a
1-link ring: (n - 1) shard-sized transfers per device for a gather, (n - 1)/n of the tensor for a
reduce-scatter, twice that for an all-reduce.
"""
from __future__ import annotations

import torch

from . import oplog
from .ops_common import as_float, require_device, store


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


def _per_group(groups, fn):
    """One result per communicating group, shared by its devices (their results are identical)."""
    done = {}
    return [done[tuple(g)] if tuple(g) in done else done.setdefault(tuple(g), fn(g)) for g in groups]


def _log(name, inp, out, per_link):
    if oplog.OPLOG.enabled:
        oplog.record(name, (inp,), (out,), bytes_per_link=per_link)


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
    shards = _per_group(groups, lambda g: torch.cat([input_tensor._shards[j] for j in g], dim=dim))
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    _log("all_gather", input_tensor, out, (len(groups[0]) - 1) * input_tensor.nbytes_per_device())
    return out


def reduce_scatter(input_tensor, dim, *, cluster_axis=None, subdevice_id=None, memory_config=None,
                   intermediate_memory_config=None, output_tensor=None, num_links=None, topology=None,
                   chunks_per_sync=None, num_workers_per_link=None, num_buffers_per_channel=None,
                   compute_kernel_config=None, use_l1_small_for_semaphores=False):
    require_device("reduce_scatter", input_tensor)
    groups = _groups(input_tensor, cluster_axis)
    shards = []
    for i, g in enumerate(groups):
        total = _ring_sum([input_tensor._shards[j] for j in g], input_tensor.dtype)
        if total.shape[dim] % len(g):
            raise RuntimeError(f"TT_FATAL: reduce_scatter dim {dim} of size {total.shape[dim]} is not divisible "
                               f"by the {len(g)} devices of the ring")
        shards.append(torch.chunk(total, len(g), dim=dim)[g.index(i)].contiguous())
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    n = len(groups[0])
    _log("reduce_scatter", input_tensor, out, (n - 1) / n * input_tensor.nbytes_per_device())
    return out


def all_reduce(input_tensor, *, cluster_axis=None, subdevice_id=None, memory_config=None, num_links=None,
               topology=None):
    require_device("all_reduce", input_tensor)
    groups = _groups(input_tensor, cluster_axis)
    shards = _per_group(groups, lambda g: _ring_sum([input_tensor._shards[j] for j in g], input_tensor.dtype))
    out = input_tensor.with_shards(shards, memory_config=memory_config)
    n = len(groups[0])
    _log("all_reduce", input_tensor, out, 2 * (n - 1) / n * input_tensor.nbytes_per_device())
    return out
