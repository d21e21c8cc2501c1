"""Reductions and normalisations: sum/mean/max, argmax, topk, softmax, rms_norm, scatter."""
from __future__ import annotations

import torch

from . import executed
from .checks import compute, selection as checked
from .dtypes import BLOCK_FLOAT, DataType, Layout, MathFidelity
from .ops_common import as_float, make_output, per_device, reject, require_device, require_fp32_dest

TF32_MANTISSA_BITS = 10


def _tf32(x: torch.Tensor) -> torch.Tensor:
    """Truncation to TF32 (10 explicit mantissa bits), as the FPU reduce path reads float32 inputs."""
    return (x.contiguous().view(torch.int32) & ~((1 << (23 - TF32_MANTISSA_BITS)) - 1)).view(torch.float32)


def _reduce(name, fn, input_tensor, dim, keepdim, memory_config, scalar=1.0, compute_kernel_config=None,
            fast_and_approximate_mode=False, output_layout=None):
    """sum/mean/max/min. Per their 0.81.1 docstrings: ``scalar`` scales the input; for FLOAT32 inputs
    ``fast_and_approximate_mode=True``, or a compute_kernel_config without fp32_dest_acc_en, takes the FPU path
    whose inputs are truncated to TF32 (without a config the accurate path is assumed); ``output_layout`` is
    always honoured, ROW_MAJOR being rejected for block floats."""
    require_device(name, input_tensor)
    if dim is None:
        dim = tuple(range(input_tensor.shape.rank))
    fpu = input_tensor.dtype == DataType.FLOAT32 and (
        fast_and_approximate_mode or (compute_kernel_config is not None
                                      and not getattr(compute_kernel_config, "fp32_dest_acc_en", False)))
    if output_layout == Layout.ROW_MAJOR and input_tensor.dtype in BLOCK_FLOAT:
        raise RuntimeError(f"TT_FATAL: ttnn.{name}: output_layout ROW_MAJOR is not supported for "
                           f"{input_tensor.dtype.name}")

    def one(s):
        x = as_float(s)
        x = _tf32(x) if fpu else x
        return fn(x * scalar if scalar != 1.0 else x, dim, keepdim)

    shards = per_device(one, input_tensor)
    return make_output(input_tensor, shards, layout=output_layout, memory_config=memory_config, name=name,
                       fidelity=_fidelity(compute_kernel_config))


def sum(input_tensor, dim=None, keepdim=False, *, memory_config=None, compute_kernel_config=None, scalar=1.0,
        correction=True, sub_core_grids=None, fast_and_approximate_mode=False, output_layout=None):
    # correction: "Deprecated ... no impact on the result" (0.81.1).
    return _reduce("sum", lambda x, d, k: x.sum(dim=d, keepdim=k), input_tensor, dim, keepdim, memory_config,
                   scalar, compute_kernel_config, fast_and_approximate_mode, output_layout)


def mean(input_tensor, dim=None, keepdim=False, *, memory_config=None, compute_kernel_config=None, scalar=1.0,
         correction=True, sub_core_grids=None, fast_and_approximate_mode=False, output_layout=None):
    return _reduce("mean", lambda x, d, k: x.mean(dim=d, keepdim=k), input_tensor, dim, keepdim, memory_config,
                   scalar, compute_kernel_config, fast_and_approximate_mode, output_layout)


def max(input_tensor, dim=None, keepdim=False, *, memory_config=None, compute_kernel_config=None, scalar=1.0,
        correction=True, sub_core_grids=None, fast_and_approximate_mode=False):
    return _reduce("max", lambda x, d, k: x.amax(dim=d, keepdim=k), input_tensor, dim, keepdim, memory_config,
                   scalar, compute_kernel_config, fast_and_approximate_mode)


def min(input_tensor, dim=None, keepdim=False, *, memory_config=None, compute_kernel_config=None, scalar=1.0,
        correction=True, sub_core_grids=None, fast_and_approximate_mode=False):
    return _reduce("min", lambda x, d, k: x.amin(dim=d, keepdim=k), input_tensor, dim, keepdim, memory_config,
                   scalar, compute_kernel_config, fast_and_approximate_mode)


def argmax(input_tensor, dim=None, keepdim=False, *, sub_core_grids=None,
           memory_config=None, output_tensor=None, enable_secondary_dm=False):
    require_device("argmax", input_tensor)
    shards = per_device(lambda s: as_float(s).argmax(dim=dim, keepdim=keepdim) if dim is not None
                        else as_float(s).argmax(), input_tensor)
    return make_output(input_tensor, shards, dtype=DataType.UINT32, layout=Layout.ROW_MAJOR,
                       memory_config=memory_config, name="argmax")


def topk(input_tensor, k, dim=-1, largest=True, sorted=True, *, memory_config=None, output_tensor=None,
         sub_core_grids=None, indices_tensor=None, stable=False):
    """Values and uint16/uint32 indices; ties keep the lower index first (torch stable sort order, a valid
    outcome of stable=False too); the values come back sorted, a valid outcome of sorted=False."""
    require_device("topk", input_tensor)
    reject("topk", indices_tensor=(indices_tensor, None))
    checked.topk(input_tensor, k, dim, memory_config)
    def one(s):
        order = torch.sort(as_float(s), dim=dim, descending=largest, stable=True)
        return order.values.narrow(dim, 0, k), order.indices.narrow(dim, 0, k)

    pairs = per_device(one, input_tensor)
    v = make_output(input_tensor, [p[0] for p in pairs], memory_config=memory_config)
    i = make_output(input_tensor, [p[1] for p in pairs], dtype=checked.topk_index_dtype(input_tensor, dim),
                    memory_config=memory_config)
    executed.emit("topk", (input_tensor,), (v, i))
    return v, i


def softmax(input_tensor, dim=-1, *, memory_config=None, compute_kernel_config=None, numeric_stable=True):
    require_device("softmax", input_tensor)
    compute.softmax(input_tensor, dim)
    require_fp32_dest("softmax", compute_kernel_config)
    if numeric_stable:  # torch.softmax subtracts the row max, so large inputs do not overflow
        fn = lambda x: torch.softmax(x, dim=dim)
    else:  # exp of the raw inputs, as the device does without numeric_stable (overflows to inf/nan)
        fn = lambda x: torch.exp(x) / torch.exp(x).sum(dim=dim, keepdim=True)
    shards = per_device(lambda s: fn(as_float(s)), input_tensor)
    return make_output(input_tensor, shards, memory_config=memory_config, name="softmax",
                       fidelity=_fidelity(compute_kernel_config))


def rms_norm(input_tensor, *, memory_config=None, epsilon=1e-12, weight=None, bias=None,
             residual_input_tensor=None, program_config=None, compute_kernel_config=None):
    require_device("rms_norm", input_tensor, weight, bias, residual_input_tensor)
    require_fp32_dest("rms_norm", compute_kernel_config)
    compute.rms_norm(input_tensor, weight, bias, residual_input_tensor)

    def fn(x, w, b, r):
        x = as_float(x) + (as_float(r) if r is not None else 0.0)
        y = x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + epsilon)
        if w is not None:
            y = y * as_float(w).reshape(-1)[: y.shape[-1]]
        if b is not None:
            y = y + as_float(b).reshape(-1)[: y.shape[-1]]
        return y

    shards = per_device(fn, input_tensor, weight, bias, residual_input_tensor)
    inputs = [t for t in (input_tensor, weight, bias, residual_input_tensor) if t is not None]
    return make_output(input_tensor, shards, memory_config=memory_config, name="rms_norm", inputs=inputs,
                       fidelity=_fidelity(compute_kernel_config), program_config=program_config is not None)


def _fidelity(compute_kernel_config):
    """The math fidelity an op runs at: its config's, else HiFi4 (ttnn's default for non-matmul compute)."""
    return getattr(compute_kernel_config, "math_fidelity", None) or MathFidelity.HiFi4


def scatter(input, dim, index, src, *, memory_config=None, reduce=None, sub_core_grids=None):
    require_device("scatter", input, index, src)
    # 0.81.1 docstring: reduce "Currently not supported".
    reject("scatter", reduce=(reduce, None))
    checked.scatter(input, dim, index, src)

    def fn(x, i, s):
        s = s if isinstance(s, torch.Tensor) else torch.full(i.shape, float(s))
        return as_float(x).scatter(dim, i.long(), as_float(s))

    shards = per_device(fn, input, index, src)
    return make_output(input, shards, memory_config=memory_config, name="scatter", inputs=(input, index))
