"""Data movement: reshape, permute, transpose, slice, concat, pad, squeeze/unsqueeze, repeat, embedding."""
from __future__ import annotations

import builtins

import torch

from .checks import compute, data_movement as checked
from .dtypes import Layout
from .ops_common import as_float, make_output, per_device, reject, require_device
from .tensor import Tensor


def _move(name, tensor, shards, memory_config=None, **kw):
    return make_output(tensor, shards, memory_config=memory_config, name=name, **kw)


def reshape(input_tensor, shape, *, memory_config=None, pad_value=0, reshape_tile_mode=None,
            sub_core_grids=None, skip_padding_fill=False):
    require_device("reshape", input_tensor)
    shape = checked.reshape(input_tensor, tuple(int(d) for d in shape))
    checked.reshape_memory(input_tensor, memory_config)
    return _move("reshape", input_tensor, per_device(lambda s: s.reshape(shape), input_tensor), memory_config)


def permute(input_tensor, dim, *, memory_config=None, pad_value=0.0):
    require_device("permute", input_tensor)
    checked.permute(input_tensor, tuple(dim))
    return _move("permute", input_tensor, per_device(lambda s: s.permute(*dim).contiguous(), input_tensor),
                 memory_config)


def transpose(input_tensor, dim1, dim2, *, memory_config=None, pad_value=0.0):
    return _move("transpose", input_tensor,
                 per_device(lambda s: s.transpose(dim1, dim2).contiguous(), input_tensor), memory_config)


def squeeze(input_tensor, dim=None):
    return _move("squeeze", input_tensor,
                 per_device(lambda s: s.squeeze() if dim is None else s.squeeze(dim), input_tensor))


def unsqueeze(input_tensor, dim):
    return _move("unsqueeze", input_tensor, per_device(lambda s: s.unsqueeze(dim), input_tensor))


def _slices(start, end, step):
    step = step or [1] * len(start)
    return tuple(builtins.slice(int(a), int(b), int(c)) for a, b, c in zip(start, end, step))


def slice(input_tensor, slice_start, slice_end, slice_step=None, *, memory_config=None, output_tensor=None,
          pad_value=None, sub_core_grids=None):
    require_device("slice", input_tensor)
    begins, ends = checked.slice(input_tensor, slice_start, slice_end, slice_step)
    idx = _slices(begins, ends, slice_step)
    return _move("slice", input_tensor, per_device(lambda s: s[idx].contiguous(), input_tensor), memory_config)


def _getitem(self, key):
    return _move("slice", self, per_device(lambda s: s[key].contiguous(), self))


Tensor.__getitem__ = _getitem
Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int)
                                              else shape)


def concat(input_tensor, dim=0, *, memory_config=None, output_tensor=None, groups=1, sub_core_grids=None):
    tensors = list(input_tensor)
    require_device("concat", *tensors)
    reject("concat", groups=(groups, 1))
    checked.concat(tensors, dim)
    shards = per_device(lambda *xs: torch.cat(xs, dim=dim), *tensors)
    return make_output(tensors[0], shards, memory_config=memory_config, name="concat", inputs=tensors)


def pad(input_tensor, padding, value, *, use_multicore=True, memory_config=None, sub_core_grids=None):
    # padding: per-dim (before, after) from the first dim; torch wants last dim first.
    flat = []
    for before, after in reversed(list(padding)):
        flat += [int(before), int(after)]
    shards = per_device(lambda s: torch.nn.functional.pad(as_float(s), flat, value=float(value)), input_tensor)
    return _move("pad", input_tensor, shards, memory_config)


def repeat(input_tensor, repetition_vector, *, memory_config=None, optional_output_tensor=None):
    reps = tuple(int(r) for r in repetition_vector)
    return _move("repeat", input_tensor, per_device(lambda s: s.repeat(*reps), input_tensor), memory_config)


def repeat_interleave(input_tensor, repeats, dim, *, memory_config=None):
    return _move("repeat_interleave", input_tensor,
                 per_device(lambda s: s.repeat_interleave(repeats, dim=dim), input_tensor), memory_config)


def embedding(input_tensor, weight, *, memory_config=None, output_tensor=None, padding_idx=None,
              layout=Layout.ROW_MAJOR, embeddings_type=None, dtype=None):
    require_device("embedding", input_tensor, weight)
    reject("embedding", padding_idx=(padding_idx, None), embeddings_type=(embeddings_type, None))
    compute.embedding(input_tensor, weight, layout, dtype)
    out_layout, out_dtype = compute.embedding_output(weight, layout, dtype)
    shards = per_device(lambda ids, w: w[ids.long()], input_tensor, weight)
    return make_output(weight, shards, dtype=out_dtype, layout=out_layout, memory_config=memory_config,
                       name="embedding", inputs=(input_tensor, weight))
