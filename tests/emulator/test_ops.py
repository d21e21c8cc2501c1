import math

import pytest
import torch

torch.manual_seed(0)


def pcc(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


def dev(ttnn, device, x, dtype=None, layout=None):
    return ttnn.from_torch(x, dtype=dtype or ttnn.bfloat16, layout=layout or ttnn.TILE_LAYOUT, device=device)


def back(ttnn, t):
    out = ttnn.to_torch(t)
    return out.to(torch.float32) if out.is_floating_point() else out


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


def test_from_to_torch_dtypes_and_layout(ttnn, device):
    x = torch.randn(2, 40, 70)
    t = dev(ttnn, device, x)
    assert t.dtype == ttnn.bfloat16 and t.layout == ttnn.TILE_LAYOUT
    assert tuple(t.shape) == (2, 40, 70) and tuple(t.padded_shape) == (2, 64, 96)
    assert ttnn.to_torch(t).dtype == torch.bfloat16
    assert torch.equal(back(ttnn, t), bf16(x))
    rm = ttnn.to_layout(t, ttnn.ROW_MAJOR_LAYOUT)
    assert rm.layout == ttnn.ROW_MAJOR_LAYOUT and tuple(rm.padded_shape) == (2, 40, 70)
    f32 = ttnn.typecast(t, ttnn.float32)
    assert f32.dtype == ttnn.float32 and torch.equal(back(ttnn, f32), bf16(x))
    host = ttnn.from_device(t)
    assert host.storage_type == ttnn.StorageType.HOST
    assert torch.equal(back(ttnn, ttnn.to_device(host, device)), bf16(x))


def test_device_op_on_host_tensor_raises(ttnn):
    host = ttnn.from_torch(torch.randn(32, 32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT)
    with pytest.raises(RuntimeError, match="need to be on device"):
        ttnn.exp(host)


def test_deallocate_and_memory_config(ttnn, device):
    t = dev(ttnn, device, torch.randn(32, 32))
    l1 = ttnn.to_memory_config(t, ttnn.L1_MEMORY_CONFIG)
    assert l1.memory_config() == ttnn.L1_MEMORY_CONFIG
    ttnn.deallocate(t)
    assert not t.is_allocated()
    with pytest.raises(RuntimeError, match="allocated"):
        ttnn.neg(t)


def test_shape_ops(ttnn, device):
    x = bf16(torch.randn(2, 3, 32, 64))
    t = dev(ttnn, device, x)
    assert torch.equal(back(ttnn, ttnn.reshape(t, (2, 96, 64))), x.reshape(2, 96, 64))
    assert torch.equal(back(ttnn, ttnn.permute(t, (0, 2, 1, 3))), x.permute(0, 2, 1, 3))
    assert torch.equal(back(ttnn, ttnn.transpose(t, -2, -1)), x.transpose(-2, -1))
    assert torch.equal(back(ttnn, ttnn.slice(t, [0, 1, 0, 16], [2, 3, 32, 48])), x[:, 1:3, :, 16:48])
    assert torch.equal(back(ttnn, t[:, :, :, :32]), x[..., :32])
    assert torch.equal(back(ttnn, ttnn.concat([t, t], dim=1)), torch.cat([x, x], 1))
    padded = ttnn.pad(t, [(0, 0), (0, 0), (0, 0), (0, 32)], 0.0)
    assert torch.equal(back(ttnn, padded), torch.nn.functional.pad(x, (0, 32)))


@pytest.mark.parametrize("name,fn", [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)])
def test_binary_broadcast(ttnn, device, name, fn):
    a, b = bf16(torch.randn(2, 32, 64)), bf16(torch.randn(1, 1, 64))
    got = back(ttnn, getattr(ttnn, name)(dev(ttnn, device, a), dev(ttnn, device, b)))
    assert torch.equal(got, bf16(fn(a, b)))
    assert torch.equal(back(ttnn, getattr(ttnn, name)(dev(ttnn, device, a), 2.0)), bf16(fn(a, 2.0)))


@pytest.mark.parametrize("name,fn", [("neg", torch.neg), ("exp", torch.exp), ("silu", torch.nn.functional.silu),
                                     ("sigmoid", torch.sigmoid)])
def test_unary(ttnn, device, name, fn):
    x = bf16(torch.randn(32, 64))
    assert torch.equal(back(ttnn, getattr(ttnn, name)(dev(ttnn, device, x))), bf16(fn(x)))


def test_clamp_where(ttnn, device):
    x = bf16(torch.randn(32, 64) * 10)
    assert torch.equal(back(ttnn, ttnn.clamp(dev(ttnn, device, x), min=-7.0, max=7.0)), x.clamp(-7, 7))
    p = (x > 0).float()
    got = ttnn.where(dev(ttnn, device, p), dev(ttnn, device, x), 0.0)
    assert torch.equal(back(ttnn, got), torch.where(x > 0, x, 0.0))


def test_softmax_stable_for_large_inputs(ttnn, device):
    x = torch.randn(32, 64) * 1e4
    got = back(ttnn, ttnn.softmax(dev(ttnn, device, x, ttnn.float32), dim=-1))
    assert torch.isfinite(got).all()
    assert torch.allclose(got, torch.softmax(x, -1), atol=1e-6)


def test_rms_norm(ttnn, device):
    x, w = torch.randn(4, 32, 256), torch.randn(256)
    ref = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w
    got = ttnn.rms_norm(dev(ttnn, device, x, ttnn.float32), epsilon=1e-5,
                        weight=ttnn.from_torch(w.reshape(1, 1, 8, 32), dtype=ttnn.float32, device=device))
    assert torch.allclose(back(ttnn, got), ref, atol=1e-5)


def test_embedding(ttnn, device):
    w = bf16(torch.randn(100, 64))
    ids = torch.tensor([[3, 7, 99, 0]])
    t_ids = ttnn.from_torch(ids, dtype=ttnn.uint32, device=device)
    got = ttnn.embedding(t_ids, dev(ttnn, device, w, layout=ttnn.ROW_MAJOR_LAYOUT), layout=ttnn.TILE_LAYOUT)
    assert got.layout == ttnn.TILE_LAYOUT and torch.equal(back(ttnn, got), w[ids])


def test_topk_values_indices_and_ties(ttnn, device):
    x = torch.tensor([[1.0, 5.0, 3.0, 5.0, 2.0, 5.0]])
    v, i = ttnn.topk(dev(ttnn, device, x), 3, dim=-1)
    assert back(ttnn, v).tolist() == [[5.0, 5.0, 5.0]]
    assert ttnn.to_torch(i).tolist() == [[1, 3, 5]]  # ties: lower index first
    y = torch.randn(4, 32)
    v2, i2 = ttnn.topk(dev(ttnn, device, y, ttnn.bfloat16), 4)
    ref = torch.topk(bf16(y), 4)
    assert torch.equal(back(ttnn, v2), ref.values) and torch.equal(ttnn.to_torch(i2).long(), ref.indices)


def test_argmax_and_reductions(ttnn, device):
    x = torch.randn(2, 32, 64)
    t = dev(ttnn, device, x, ttnn.float32)
    assert torch.equal(ttnn.to_torch(ttnn.argmax(t, dim=-1)).long(), x.argmax(-1))
    assert torch.allclose(back(ttnn, ttnn.sum(t, dim=-1, keepdim=True)), x.sum(-1, keepdim=True), atol=1e-4)
    assert torch.allclose(back(ttnn, ttnn.mean(t, dim=1)), x.mean(1), atol=1e-6)
    assert torch.equal(back(ttnn, ttnn.max(t, dim=-1)), x.amax(-1))


def test_scatter_router_weights(ttnn, device):
    weights = torch.rand(32, 4)
    idx = torch.stack([torch.randperm(8)[:4] for _ in range(32)])
    zeros = torch.zeros(32, 8)
    got = ttnn.scatter(dev(ttnn, device, zeros, ttnn.bfloat16), -1,
                       ttnn.from_torch(idx, dtype=ttnn.uint32, device=device), dev(ttnn, device, weights, ttnn.bfloat16))
    assert torch.equal(back(ttnn, got), zeros.scatter(-1, idx, bf16(weights)))


def test_matmul_linear_against_torch(ttnn, device):
    a, b, bias = torch.randn(2, 64, 96), torch.randn(96, 128) * 0.1, torch.randn(128)
    hifi4 = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4, fp32_dest_acc_en=True)
    ta, tb = dev(ttnn, device, a, ttnn.float32), dev(ttnn, device, b, ttnn.float32)
    got = ttnn.linear(ta, tb, bias=dev(ttnn, device, bias, ttnn.float32), activation="silu",
                      compute_kernel_config=hifi4)
    assert torch.allclose(back(ttnn, got), torch.nn.functional.silu(a @ b + bias), atol=1e-4)
    got_t = ttnn.matmul(ta, dev(ttnn, device, b.T.contiguous(), ttnn.float32), transpose_b=True,
                        compute_kernel_config=hifi4, dtype=ttnn.bfloat16)
    assert got_t.dtype == ttnn.bfloat16 and torch.equal(back(ttnn, got_t), bf16(a @ b))
    with pytest.raises(RuntimeError, match="width of the first tensor must be equal to the height"):
        ttnn.matmul(ta, ta)


def test_lofi_is_less_precise_than_hifi4(ttnn, device):
    a, b = torch.randn(64, 512), torch.randn(512, 64)
    ref = a.double() @ b.double()
    ta, tb = dev(ttnn, device, a), dev(ttnn, device, b, ttnn.bfloat8_b)
    ref = back(ttnn, ta).double() @ back(ttnn, tb).double()
    errs = {}
    for fid in ("LoFi", "HiFi2", "HiFi3", "HiFi4"):
        cfg = ttnn.init_device_compute_kernel_config(ttnn.Arch.WORMHOLE_B0, math_fidelity=getattr(ttnn.MathFidelity, fid),
                                                     fp32_dest_acc_en=True)
        y = back(ttnn, ttnn.matmul(ta, tb, compute_kernel_config=cfg, dtype=ttnn.float32)).double()
        errs[fid] = ((y - ref).norm() / ref.norm()).item()
    assert errs["LoFi"] > 4 * errs["HiFi2"] > 0
    assert errs["HiFi4"] < 1e-6 and errs["HiFi4"] < errs["HiFi3"] < errs["HiFi2"]
    bf16_dest = ttnn.init_device_compute_kernel_config(ttnn.Arch.WORMHOLE_B0, math_fidelity=ttnn.MathFidelity.HiFi4)
    y16 = back(ttnn, ttnn.matmul(ta, tb, compute_kernel_config=bf16_dest, dtype=ttnn.float32)).double()
    assert ((y16 - ref).norm() / ref.norm()).item() > 100 * errs["HiFi4"]


def _sdpa_ref(q, k, v, sink, window):
    s = q.shape[2]
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    i, j = torch.arange(s)[:, None], torch.arange(s)[None]
    mask = (j <= i) & (j > i - window if window else True)
    scores = scores.masked_fill(~mask, float("-inf"))
    full = torch.cat([scores, sink.reshape(1, -1, 1, 1).expand(q.shape[0], -1, s, 1)], -1)
    return torch.softmax(full, -1)[..., :-1] @ v


def test_sdpa_with_sinks_and_sliding_window(ttnn, device):
    q, k, v = torch.randn(1, 4, 64, 32), torch.randn(1, 2, 64, 32), torch.randn(1, 2, 64, 32)
    q, k, v = bf16(q), bf16(k), bf16(v)
    sink = bf16(torch.randn(4))
    f = lambda x: dev(ttnn, device, x, ttnn.bfloat16)  # SDPA takes BFLOAT16/BFLOAT8_B/BFLOAT4_B only
    for window in (None, 16):
        got = ttnn.transformer.scaled_dot_product_attention(
            f(q), f(k), f(v), is_causal=True, sliding_window_size=window,
            attention_sink=f(sink.reshape(1, 4, 1, 1)))
        assert torch.allclose(back(ttnn, got), _sdpa_ref(q, k, v, sink, window), atol=1e-2)


def test_sdpa_decode_matches_prefill_row(ttnn, device):
    b, s = 2, 64
    q, k, v = bf16(torch.randn(1, b, 4, 32)), bf16(torch.randn(b, 2, s, 32)), bf16(torch.randn(b, 2, s, 32))
    pos = [10, 40]
    f = lambda x: dev(ttnn, device, x, ttnn.bfloat16)
    got = back(ttnn, ttnn.transformer.scaled_dot_product_attention_decode(f(q), f(k), f(v), cur_pos=pos,
                                                                          sliding_window_size=16))
    for i, p in enumerate(pos):
        kk = k[i:i + 1, :, max(0, p - 15):p + 1].repeat_interleave(2, 1)
        vv = v[i:i + 1, :, max(0, p - 15):p + 1].repeat_interleave(2, 1)
        ref = torch.softmax(q[:, i:i + 1].transpose(1, 2) @ kk.transpose(-1, -2) / math.sqrt(32), -1) @ vv
        assert torch.allclose(got[0, i], ref[0, :, 0], atol=1e-2)


def test_rotary_embedding_llama_and_hf(ttnn, device):
    x = torch.randn(1, 2, 32, 64)
    theta = torch.randn(32, 32)
    cos_i, sin_i = theta.cos().repeat_interleave(2, -1)[None, None], theta.sin().repeat_interleave(2, -1)[None, None]
    trans = torch.zeros(1, 1, 32, 32)
    trans[..., torch.arange(0, 32, 2), torch.arange(1, 32, 2)] = 1
    trans[..., torch.arange(1, 32, 2), torch.arange(0, 32, 2)] = -1
    x, cos_i, sin_i = bf16(x), bf16(cos_i), bf16(sin_i)
    f = lambda t: dev(ttnn, device, t, ttnn.bfloat16)  # rotary_embedding_llama: all inputs BFLOAT16
    got = back(ttnn, ttnn.experimental.rotary_embedding_llama(f(x), f(cos_i), f(sin_i), f(trans)))
    rotated = (x.reshape(1, 2, 32, 2, 32) @ trans[0, 0]).reshape(x.shape)
    assert torch.allclose(got, bf16(x * cos_i + rotated * sin_i), atol=2e-2)
    with pytest.raises(RuntimeError, match="All input tensors must have dtype = bfloat16"):
        ttnn.experimental.rotary_embedding_llama(dev(ttnn, device, x, ttnn.float32), f(cos_i), f(sin_i), f(trans))
    f = lambda t: dev(ttnn, device, t, ttnn.float32)
    cos_h, sin_h = torch.cat([theta.cos()] * 2, -1)[None, None], torch.cat([theta.sin()] * 2, -1)[None, None]
    got_h = back(ttnn, ttnn.experimental.rotary_embedding_hf(f(x), f(cos_h), f(sin_h)))
    rot = torch.cat([-x[..., 32:], x[..., :32]], -1)
    assert torch.allclose(got_h, x * cos_h + rot * sin_h, atol=1e-6)


def test_kv_cache_fill_and_update(ttnn, device):
    cache = dev(ttnn, device, torch.zeros(2, 2, 64, 32))
    prefill = bf16(torch.randn(1, 2, 32, 32))
    ttnn.fill_cache(cache, dev(ttnn, device, prefill), 1)
    assert torch.equal(back(ttnn, cache)[1, :, :32], prefill[0])
    tok = bf16(torch.randn(1, 2, 32, 32))  # [1, nkv, batch padded to 32, dh]
    ttnn.update_cache(cache, dev(ttnn, device, tok), 40)
    assert torch.equal(back(ttnn, cache)[:, :, 40], tok[0, :, :2].transpose(0, 1))
