import math

import numpy as np
import pytest
import torch

from bench.metrics import allclose_stats, mean_kl, pcc, routing_agreement, token_accuracy, topk_agreement


def test_pcc_matches_numpy_corrcoef_on_noisy_data():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(64, 128, generator=g)
    dev = ref + 0.3 * torch.randn(64, 128, generator=g)
    expected = np.corrcoef(ref.flatten().numpy().astype(np.float64), dev.flatten().numpy().astype(np.float64))[0, 1]
    result = pcc(ref, dev)
    assert result.method == "pcc"
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert 0.94 < result.value < 0.97  # 1/sqrt(1 + 0.09) = 0.9578
    assert result.passed(0.95) and not result.passed(0.96)


def test_pcc_is_affine_invariant_and_signed():
    x = torch.linspace(-3, 5, 1000)
    assert pcc(x, 2 * x + 7).value == pytest.approx(1.0, abs=1e-12)
    assert pcc(x, -x).value == pytest.approx(-1.0, abs=1e-12)


def test_bit_equal_tensors_are_exact():
    x = torch.randn(8, 8)
    result = pcc(x, x.clone())
    assert (result.value, result.method) == (1.0, "exact")


def test_device_nan_fails_even_when_rest_correlates():
    ref = torch.randn(1000)
    dev = ref.clone()
    dev[[3, 17]] = float("nan")
    result = pcc(ref, dev)
    assert math.isnan(result.value)
    assert result.method == "nonfinite"
    assert "2 NaN/inf" in result.reason
    assert not result.passed(0.0)


def test_device_inf_fails():
    ref = torch.randn(100)
    dev = ref.clone()
    dev[0] = float("inf")
    result = pcc(ref, dev)
    assert math.isnan(result.value) and "device has 1" in result.reason


def test_nan_in_both_at_same_positions_fails():
    # tt-metal's comp_pcc would drop the shared NaN and score the rest; a NaN is never a pass here.
    ref = torch.randn(500)
    dev = ref + 0.01 * torch.randn(500)
    ref[10] = dev[10] = float("nan")
    result = pcc(ref, dev)
    assert math.isnan(result.value) and result.method == "nonfinite"
    assert result.reason == "reference has 1 NaN/inf, device has 1 NaN/inf"
    assert not result.passed(-1.0)


def test_both_all_nan_fail():
    nan = torch.full((4, 4), float("nan"))
    assert math.isnan(pcc(nan, nan.clone()).value)


def test_token_metrics_are_nan_on_nonfinite_logits():
    ref = torch.randn(1, 4, 16)
    dev = ref.clone()
    assert topk_agreement(ref, dev, k=1) == 1.0
    dev[0, 2, 5] = float("nan")
    assert math.isnan(topk_agreement(ref, dev, k=1)) and math.isnan(topk_agreement(ref, dev, k=5))
    assert math.isnan(token_accuracy(dev, torch.tensor([[1, 2, 3, 4]])))
    assert math.isnan(mean_kl(ref, dev))
    masked = torch.tensor([[True, True, False, True]])  # the NaN position is not compared
    assert topk_agreement(ref, dev, k=1, mask=masked) == 1.0


def test_reference_nan_where_device_finite_fails():
    ref = torch.randn(10)
    ref[2] = float("nan")
    assert math.isnan(pcc(ref, torch.randn(10)).value)


def test_constant_tensor_uses_allclose_not_silent_one():
    ref = torch.zeros(32, 32)
    near = pcc(ref, torch.full((32, 32), 1e-5))
    assert (near.value, near.method) == (1.0, "allclose")
    assert "reference tensor is constant" in near.reason
    far = pcc(ref, torch.full((32, 32), 0.5))
    assert (far.value, far.method) == (0.0, "allclose")
    assert not far.passed(0.99)
    # A constant device output against a varying reference is a failure, not 1.0.
    flat_dev = pcc(torch.randn(32, 32), torch.ones(32, 32))
    assert flat_dev.value == 0.0 and "device tensor is constant" in flat_dev.reason


def test_device_cast_to_reference_dtype():
    ref = torch.randn(256)
    result = pcc(ref, ref.to(torch.bfloat16))
    assert 0.9999 < result.value < 1.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"reference \(2, 3\) vs device \(3, 2\)"):
        pcc(torch.zeros(2, 3), torch.zeros(3, 2))


def test_allclose_stats_values():
    ref = torch.tensor([1.0, -2.0, 0.0, 4.0])
    dev = torch.tensor([1.1, -2.0, 0.001, 3.0])
    stats = allclose_stats(ref, dev, atol=1e-2, rtol=1e-2)
    assert stats.max_abs_error == pytest.approx(1.0)
    assert stats.mean_abs_error == pytest.approx((0.1 + 0 + 0.001 + 1.0) / 4, rel=1e-6)
    assert stats.max_rel_error == pytest.approx(0.25)
    assert stats.allclose is False


def _one_hot_logits(ids, vocab=10):
    logits = torch.full((*ids.shape, vocab), -5.0)
    return logits.scatter(-1, ids.unsqueeze(-1), 5.0)


def test_topk_agreement_top1_and_top5():
    ref = torch.arange(10, dtype=torch.float32).repeat(4, 1)  # reference top-5 = {5..9}, top-1 = 9
    dev_top1 = torch.tensor([9, 7, 5, 0])
    dev = _one_hot_logits(dev_top1)
    assert topk_agreement(ref, dev, k=1) == pytest.approx(0.25)
    assert topk_agreement(ref, dev, k=5) == pytest.approx(0.75)
    mask = torch.tensor([True, True, False, False])
    assert topk_agreement(ref, dev, k=5, mask=mask) == pytest.approx(1.0)


def test_token_accuracy():
    logits = _one_hot_logits(torch.tensor([[1, 2, 3]]))
    assert token_accuracy(logits, torch.tensor([[1, 2, 4]])) == pytest.approx(2 / 3)


def test_mean_kl_known_value():
    ref = torch.log(torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    dev = torch.log(torch.tensor([[0.9, 0.1]], dtype=torch.float64))
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert mean_kl(ref, dev) == pytest.approx(expected, abs=1e-12)
    assert mean_kl(ref, ref) == pytest.approx(0.0, abs=1e-15)


def test_routing_agreement_ignores_order_and_counts_overlap():
    ref = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3]])
    dev = torch.tensor([[3, 2, 1, 0], [4, 5, 6, 0], [8, 9, 10, 11]])
    result = routing_agreement(ref, dev)
    assert result.exact == pytest.approx(1 / 3)
    assert result.overlap == pytest.approx((4 + 3 + 0) / 12)
    assert result.tokens == 3
    masked = routing_agreement(ref, dev, mask=torch.tensor([True, True, False]))
    assert (masked.exact, masked.overlap, masked.tokens) == (0.5, pytest.approx(7 / 8), 2)
