"""Element-wise ops: computed in float32 per device, rounded to the output dtype (default: input dtype)."""
from __future__ import annotations

import torch

from .ops_common import as_float, make_output, per_device, reject, require_device
from .tensor import Tensor


def _binary(name, fn, a, b, dtype=None, memory_config=None, activations=None, a_activations=None,
            b_activations=None):
    require_device(name, a, b)
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError(f"ttnn.{name}: at least one operand must be a ttnn.Tensor")
    if activations:
        raise NotImplementedError(f"ttnn.{name}: fused activations are not emulated")
    reject(name, input_tensor_a_activations=(a_activations or None, None),
           input_tensor_b_activations=(b_activations or None, None))
    conv = lambda v: as_float(v) if isinstance(v, torch.Tensor) else float(v)
    shards = per_device(lambda x, y: fn(conv(x), conv(y)), a, b)
    return make_output(like, shards, dtype=dtype, memory_config=memory_config, name=name,
                       inputs=[t for t in (a, b) if isinstance(t, Tensor)])


# fast_and_approximate_mode: defaults as the 0.81.1 docstrings give them (True for add/sub, False for mul); it
# selects SFPU approximations that an elementwise add/sub/mul of floats on the FPU does not use, so the result
# is the same either way.
def add(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None, output_tensor=None, activations=None,
        input_tensor_a_activations=None, input_tensor_b_activations=None,
        fast_and_approximate_mode=True):
    return _binary("add", torch.add, input_tensor_a, input_tensor_b, dtype, memory_config, activations,
                   input_tensor_a_activations, input_tensor_b_activations)


def sub(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None, output_tensor=None, activations=None,
        input_tensor_a_activations=None, input_tensor_b_activations=None,
        fast_and_approximate_mode=True):
    return _binary("sub", torch.sub, input_tensor_a, input_tensor_b, dtype, memory_config, activations,
                   input_tensor_a_activations, input_tensor_b_activations)


def mul(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None, output_tensor=None, activations=None,
        input_tensor_a_activations=None, input_tensor_b_activations=None,
        fast_and_approximate_mode=False):
    return _binary("mul", torch.mul, input_tensor_a, input_tensor_b, dtype, memory_config, activations,
                   input_tensor_a_activations, input_tensor_b_activations)


def div(input_tensor_a, input_tensor_b, *, memory_config=None, fast_and_approximate_mode=False,
        rounding_mode=None, activations=None, input_tensor_a_activations=None, input_tensor_b_activations=None,
        dtype=None, output_tensor=None):
    reject("div", fast_and_approximate_mode=(fast_and_approximate_mode, False))
    fn = (lambda x, y: torch.div(x, y, rounding_mode=rounding_mode)) if rounding_mode else torch.div
    return _binary("div", fn, input_tensor_a, input_tensor_b, dtype, memory_config, activations,
                   input_tensor_a_activations, input_tensor_b_activations)


def maximum(input_tensor_a, input_tensor_b, *, memory_config=None, output_tensor=None, dtype=None):
    fn = lambda x, y: torch.maximum(x, torch.as_tensor(y, dtype=torch.float32))
    return _binary("maximum", fn, input_tensor_a, input_tensor_b, dtype, memory_config)


def minimum(input_tensor_a, input_tensor_b, *, memory_config=None, output_tensor=None, dtype=None):
    fn = lambda x, y: torch.minimum(x, torch.as_tensor(y, dtype=torch.float32))
    return _binary("minimum", fn, input_tensor_a, input_tensor_b, dtype, memory_config)


multiply = mul
subtract = sub
divide = div


def _comparison(name, fn):
    def op(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None, output_tensor=None,
           activations=None):
        return _binary(name, lambda x, y: fn(x, y).to(torch.float32), input_tensor_a, input_tensor_b, dtype,
                       memory_config, activations)
    op.__name__ = name
    return op


eq = _comparison("eq", torch.eq)
ne = _comparison("ne", torch.ne)
gt = _comparison("gt", torch.gt)
ge = _comparison("ge", torch.ge)
lt = _comparison("lt", torch.lt)
le = _comparison("le", torch.le)


def _unary(name, fn):
    def op(input_tensor, *, memory_config=None, output_tensor=None, sub_core_grids=None, **kwargs):
        require_device(name, input_tensor)
        shards = per_device(lambda s: fn(as_float(s), **kwargs), input_tensor)
        return make_output(input_tensor, shards, memory_config=memory_config, name=name)
    op.__name__ = name
    return op


def _accurate(name, fn):
    """An op whose fast_and_approximate_mode=True would run an approximation the emulator does not model."""
    def op(x, fast_and_approximate_mode=False):
        reject(name, fast_and_approximate_mode=(fast_and_approximate_mode, False))
        return fn(x)
    return op


def _sigmoid(x, vector_mode=None, mode=None):
    # vector_mode 2 (columns only) leaves part of each tile uncomputed; any SigmoidMode but the default
    # Accurate one approximates. Neither is emulated.
    reject("sigmoid", vector_mode=(vector_mode if vector_mode != 4 else None, None), mode=(mode, None))
    return torch.sigmoid(x)


neg = _unary("neg", lambda x: -x)
abs = _unary("abs", torch.abs)
silu = _unary("silu", torch.nn.functional.silu)
relu = _unary("relu", torch.relu)
tanh = _unary("tanh", _accurate("tanh", torch.tanh))
square = _unary("square", torch.square)
sqrt = _unary("sqrt", _accurate("sqrt", torch.sqrt))
rsqrt = _unary("rsqrt", _accurate("rsqrt", torch.rsqrt))
reciprocal = _unary("reciprocal", torch.reciprocal)
exp = _unary("exp", _accurate("exp", torch.exp))
log = _unary("log", _accurate("log", torch.log))
cos = _unary("cos", torch.cos)
sin = _unary("sin", torch.sin)
# 0.81.1: fast_and_approximate_mode defaults to False (Accurate, erf); True is the FastLut variant, modelled by
# the tanh approximation.
gelu = _unary("gelu", lambda x, fast_and_approximate_mode=False:
              torch.nn.functional.gelu(x, approximate="tanh" if fast_and_approximate_mode else "none"))
sigmoid = _unary("sigmoid", _sigmoid)


def clamp(input_tensor, min=None, max=None, *, memory_config=None, output_tensor=None):
    require_device("clamp", input_tensor)
    shards = per_device(lambda s: as_float(s).clamp(min=min, max=max), input_tensor)
    return make_output(input_tensor, shards, memory_config=memory_config, name="clamp")


clip = clamp


def where(predicate, true_value, false_value, *, memory_config=None, output_tensor=None, sub_core_grids=None):
    require_device("where", predicate, true_value, false_value)
    like = next(t for t in (true_value, false_value, predicate) if isinstance(t, Tensor))
    as_t = lambda v: as_float(v) if isinstance(v, torch.Tensor) else torch.tensor(float(v))
    shards = per_device(lambda p, t, f: torch.where(p != 0, as_t(t), as_t(f)), predicate, true_value, false_value)
    return make_output(like, shards, memory_config=memory_config, name="where",
                       inputs=[t for t in (predicate, true_value, false_value) if isinstance(t, Tensor)])
