"""output_tensor= / optional_output_tensor= write the result into the given tensor (its dtype), which is
returned; keywords that would change results on a device are implemented or raise."""
import pytest
import torch


def dev(ttnn, device, x, dtype=None):
    return ttnn.from_torch(x, dtype=dtype or ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)


def host(ttnn, t):
    return ttnn.to_torch(t).float()


def test_in_place_add_updates_the_tensor_every_holder_sees(ttnn, device):
    x, b = torch.randn(32, 64), torch.randn(1, 64)
    tx = dev(ttnn, device, x)
    alias = tx
    out = ttnn.add(tx, dev(ttnn, device, b), output_tensor=tx)
    assert out is tx and out.dtype == ttnn.bfloat16
    expected = (x.bfloat16().float() + b.bfloat16().float()).bfloat16().float()
    assert torch.equal(host(ttnn, alias), expected)


def test_kv_cache_zeroed_in_place_like_tt_metal_demo(ttnn, device):
    cache = dev(ttnn, device, torch.randn(1, 2, 64, 32))
    ttnn.mul(cache, 0, output_tensor=cache)
    assert host(ttnn, cache).abs().sum() == 0
    ttnn.update_cache(cache, dev(ttnn, device, torch.ones(1, 2, 32, 32)), 5)
    assert host(ttnn, cache)[0, :, 5].eq(1).all() and host(ttnn, cache)[0, :, 6].eq(0).all()


def test_result_is_written_in_the_output_tensors_dtype(ttnn, device):
    a, b = torch.randn(32, 64), torch.randn(32, 64)
    ta, tb = dev(ttnn, device, a, ttnn.float32), dev(ttnn, device, b, ttnn.float32)
    target = dev(ttnn, device, torch.zeros(32, 64), ttnn.bfloat8_b)
    out = ttnn.add(ta, tb, output_tensor=target)
    assert out is target and out.dtype == ttnn.bfloat8_b
    rounded = ttnn.to_torch(ttnn.typecast(ttnn.add(ta, tb), ttnn.bfloat8_b)).float()
    assert torch.equal(host(ttnn, out), rounded)
    # ops without a dtype keyword compute in their own dtype and are rounded into the target's
    f32 = dev(ttnn, device, torch.zeros(32, 64), ttnn.float32)
    ttnn.neg(dev(ttnn, device, a), output_tensor=f32)
    assert f32.dtype == ttnn.float32 and torch.equal(host(ttnn, f32), -a.bfloat16().float())
    with pytest.raises(RuntimeError, match="dtype BFLOAT16 differs from the dtype FLOAT32"):
        ttnn.add(ta, tb, dtype=ttnn.bfloat16, output_tensor=f32)


def test_matmul_optional_output_tensor_and_tuple_outputs(ttnn, device):
    a, w = torch.randn(32, 64), torch.randn(64, 32)
    target = dev(ttnn, device, torch.zeros(32, 32), ttnn.float32)
    out = ttnn.matmul(dev(ttnn, device, a), dev(ttnn, device, w), optional_output_tensor=target)
    assert out is target and torch.equal(host(ttnn, out),
                                         host(ttnn, ttnn.matmul(dev(ttnn, device, a), dev(ttnn, device, w),
                                                                dtype=ttnn.float32)))
    x = dev(ttnn, device, torch.randn(32, 64))
    v_out = dev(ttnn, device, torch.zeros(32, 4))
    i_out = ttnn.from_torch(torch.zeros(32, 4, dtype=torch.int32), dtype=ttnn.uint16, layout=ttnn.TILE_LAYOUT,
                            device=device)
    v, i = ttnn.topk(x, 4, output_tensor=(v_out, i_out))
    assert v is v_out and i is i_out and torch.equal(host(ttnn, v), ttnn.topk(x, 4)[0].to_torch().float())


def test_shape_mismatch_raises_like_the_real_op(ttnn, device):
    a = dev(ttnn, device, torch.randn(32, 64))
    wrong = dev(ttnn, device, torch.zeros(32, 32))
    with pytest.raises(RuntimeError, match=r"Shape of Output tensor \[32, 32\] provided does not match the "
                                           r"broadcasted output shape \[32, 64\]"):
        ttnn.add(a, a, output_tensor=wrong)
    with pytest.raises(RuntimeError, match="does not match the output shape"):
        ttnn.exp(a, output_tensor=wrong)


@pytest.mark.parametrize("call, message", [
    (lambda t, x: t.add(x, x, input_tensor_a_activations=["relu"]), "input_tensor_a_activations"),
    (lambda t, x: t.div(x, x, fast_and_approximate_mode=True), "fast_and_approximate_mode"),
    (lambda t, x: t.exp(x, fast_and_approximate_mode=True), "fast_and_approximate_mode"),
    (lambda t, x: t.sigmoid(x, vector_mode=2), "vector_mode"),
    (lambda t, x: t.concat([x, x], dim=0, groups=2), "groups"),
    (lambda t, x: t.topk(x, 2, indices_tensor=x), "indices_tensor"),
    (lambda t, x: t.scatter(x, -1, x, x, reduce="add"), "reduce"),
    (lambda t, x: t.softmax(x, compute_kernel_config=t.WormholeComputeKernelConfig(fp32_dest_acc_en=False)),
     "fp32_dest_acc_en=False"),
    (lambda t, x: t.from_torch(torch.zeros(32, 32), tile=object()), "tile"),
])
def test_result_changing_keywords_are_not_ignored(ttnn, device, call, message):
    x = dev(ttnn, device, torch.randn(32, 64))
    with pytest.raises(NotImplementedError, match=message):
        call(ttnn, x)


def test_implemented_keywords_change_the_result(ttnn, device):
    x = torch.randn(32, 64)
    t = dev(ttnn, device, x, ttnn.float32)
    assert torch.equal(host(ttnn, ttnn.max(t, dim=-1, scalar=-1.0)), (-x).amax(-1))
    exact = host(ttnn, ttnn.sum(t, dim=-1))
    fast = host(ttnn, ttnn.sum(t, dim=-1, fast_and_approximate_mode=True))  # FPU path: TF32 inputs
    tf32 = (x.view(torch.int32) & ~((1 << 13) - 1)).view(torch.float32)
    assert torch.allclose(fast, tf32.sum(-1), atol=1e-5) and not torch.equal(fast, exact)
    assert ttnn.sum(t, dim=-1, output_layout=ttnn.ROW_MAJOR_LAYOUT).layout == ttnn.ROW_MAJOR_LAYOUT
    big = dev(ttnn, device, torch.full((32, 32), 100.0), ttnn.float32)
    assert torch.isnan(host(ttnn, ttnn.softmax(big, numeric_stable=False))).all()
    assert torch.allclose(host(ttnn, ttnn.softmax(big)), torch.full((32, 32), 1 / 32))
