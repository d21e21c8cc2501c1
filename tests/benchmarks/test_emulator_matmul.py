"""Emulated 128x2880 @ 2880x5760 (bfloat8_b weights, default compute config = LoFi, bfloat16 dest) vs plain
torch float32 matmul. Budget: ratio <= 2."""
import time

import torch

from tt_model.backend import get_ttnn


def _best(fn, rounds=5):
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_emulated_matmul_within_2x_of_torch(benchmark):
    ttnn = get_ttnn("emulated")
    device = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    torch.manual_seed(0)
    x, w = torch.randn(128, 2880), torch.randn(2880, 5760) * 0.02
    tx = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
    tw = ttnn.from_torch(w, dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=device)  # quantized once
    plain = _best(lambda: x @ w)
    benchmark.pedantic(lambda: ttnn.matmul(tx, tw), rounds=5, warmup_rounds=1)
    emulated = _best(lambda: ttnn.matmul(tx, tw))
    ratio = emulated / plain
    print(f"\nemulated matmul {emulated * 1e3:.1f} ms, torch float32 {plain * 1e3:.1f} ms, ratio {ratio:.2f}")
    assert ratio <= 2.0
