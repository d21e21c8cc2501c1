"""The one wrapper every exported emulated op goes through (``api.build`` applies it):

1. documented dtypes: each tensor argument is checked against the op's "Supported dtypes and layouts" table
   from the 0.81.1 docstrings (``dtype_table``); an undocumented dtype/layout raises RuntimeError (TT_FATAL).
2. trace capture: every call is handed to ``trace.capture_call`` after it ran, so a mesh that captures a trace
   can replay it (``execute_trace``).
3. preallocated outputs: ``output_tensor=`` (``optional_output_tensor=`` for matmul/linear/repeat) is honoured
   for every op that takes it. The op computes its result (in the output tensor's dtype when the op has a
   ``dtype`` keyword, so it is rounded once), the result is written into the given tensor in that tensor's
   dtype and layout, and the given tensor itself is returned (so ``ttnn.add(x, b, output_tensor=x)`` updates
   ``x`` for every holder of it). A shape mismatch raises like the real op's TT_FATAL.
"""
from __future__ import annotations

import functools
import inspect

from . import dtype_table, trace
from .dtypes import INTEGER
from .ops_common import as_float, per_device, store
from .tensor import Tensor

_BINARY = {"add", "sub", "mul", "div", "multiply", "subtract", "divide", "maximum", "minimum",
           "eq", "ne", "gt", "ge", "lt", "le"}


def wrap(qualified: str, fn):
    """``fn`` with the dtype check and output-tensor handling of op ``qualified`` (e.g. "ttnn.add")."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    tables = dtype_table.tables_for(qualified)
    out_param = next((p for p in dtype_table.OUTPUT_ARGS if p in sig.parameters), None)
    has_dtype = "dtype" in sig.parameters

    @functools.wraps(fn)
    def op(*args, **kwargs):
        result = run(*args, **kwargs)
        trace.capture_call(op, args, kwargs, result)
        return result

    def run(*args, **kwargs):
        if tables is None and out_param is None:
            return fn(*args, **kwargs)
        bound = sig.bind(*args, **kwargs)
        if tables is not None:
            dtype_table.check(qualified, tables, bound.arguments, Tensor)
        out = bound.arguments.get(out_param) if out_param else None
        if out is None or (isinstance(out, (tuple, list)) and all(o is None for o in out)):
            return fn(*args, **kwargs)
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        for o in outs:
            _check_target(qualified, o)
        bound.arguments[out_param] = None
        if has_dtype and len(outs) == 1:
            requested = bound.arguments.get("dtype")
            if requested is None:
                bound.arguments["dtype"] = outs[0].dtype
            elif requested != outs[0].dtype:
                raise RuntimeError(f"TT_FATAL: {qualified}: dtype {requested.name} differs from the dtype "
                                   f"{outs[0].dtype.name} of the preallocated {out_param}")
        result = fn(*bound.args, **bound.kwargs)
        results = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if len(results) != len(outs) and len(outs) != 1:
            raise RuntimeError(f"TT_FATAL: {qualified}: {out_param} holds {len(outs)} tensors, the op returns "
                               f"{len(results)}")
        written = tuple(_write(qualified, r, o) if o is not None else r for r, o in zip(results, outs))
        if isinstance(result, (tuple, list)):
            return type(result)(written) if len(outs) > 1 else (written[0], *results[1:])
        return written[0]

    return op


def _check_target(qualified: str, out) -> None:
    if out is None:
        return
    if not isinstance(out, Tensor):
        raise TypeError(f"{qualified}(): output tensor must be a ttnn.Tensor, got {type(out).__name__}")
    if out.storage_type.name != "DEVICE":
        raise RuntimeError(f"TT_FATAL: {qualified}: the preallocated output tensor needs to be on device!")
    if not out.is_allocated():
        raise RuntimeError(f"TT_FATAL: {qualified}: the preallocated output tensor needs to be allocated in "
                           "buffers on device!")


def _write(qualified: str, result: Tensor, out: Tensor) -> Tensor:
    """Writes ``result`` into ``out`` (its dtype, layout and memory config stay), returns ``out``."""
    name = qualified.rsplit(".", 1)[-1]
    if tuple(result.shape) != tuple(out.shape):
        what = "the broadcasted output shape" if name in _BINARY else "the output shape"
        raise RuntimeError(f"TT_FATAL: {qualified}: Shape of Output tensor {list(out.shape)} provided does not "
                           f"match {what} {list(result.shape)}")
    if result.num_devices != out.num_devices:
        raise RuntimeError(f"TT_FATAL: {qualified}: the preallocated output tensor is on {out.num_devices} "
                           f"devices, the result on {result.num_devices}")

    def written(s):
        t = store(s if out.dtype in INTEGER else as_float(s), out.dtype)
        return t.clone() if t is s else t  # the output owns its storage (in-place cache ops)

    out._replace_shards(per_device(written, result))
    return out
