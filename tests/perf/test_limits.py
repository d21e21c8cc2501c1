"""The physical limit, the tiers, and the capacity check."""
import pytest

from bench import limits
from ground.errors import UserError
from tests.perf.conftest import modelled, shape_only
from tt_model.mesh import parse_mesh
from tt_model.precision import Precision


def test_experts_touched_by_a_batch():
    assert limits.experts_touched(32, 4, 1) == pytest.approx(4)
    assert limits.experts_touched(128, 4, 32) == pytest.approx(128 * (1 - (1 - 4 / 128) ** 32))
    assert limits.experts_touched(32, 4, 10_000) == pytest.approx(32)


def test_20b_decode_bytes_by_hand():
    config = shape_only("20b").config
    limit = limits.physical_limit(config, Precision(), devices=8, batch=1, isl=128, osl=128)
    bf8, bf4 = 1 + 1 / 16, 0.5 + 1 / 16
    # 24 layers of 4 routed experts x 3 x 2880 x 2880 bfloat4_b weights (+ bf16 biases)
    assert limit.decode_bytes["experts"] == pytest.approx(24 * 4 * (3 * 2880 * 2880 * bf4 + (2 * 2880 + 2880) * 2))
    assert limit.decode_bytes["lm_head"] == pytest.approx(201088 * 2880 * bf8)
    assert limit.decode_s == pytest.approx(sum(limit.decode_bytes.values()) / (8 * 288e9))
    assert 0.5e-3 < limit.decode_s < 2e-3  # about 1 ms: ~2.7 GB over 8 x 288 GB/s


def test_tiers_follow_tt_inference_server():
    goal = {"ttft_ms": 18.0, "tokens_per_s_per_user": 131.0}
    assert limits.tier(18.0, 131.0, goal) == "target"
    assert limits.tier(36.0, 65.5, goal) == "complete"
    assert limits.tier(150.0, 27.6, goal) == "functional"
    assert limits.tier(200.0, 10.0, goal) == "below functional"
    assert limits.targets(shape_only("120b").config, "4x8", None, 32)["tokens_per_s_per_user"] == 27.5


def test_modelled_decode_is_never_faster_than_the_limit():
    checkpoint = shape_only("20b", 2)
    _, steps, _ = modelled(checkpoint, "1x8", batch=32)
    limit = limits.physical_limit(checkpoint.config, Precision(), devices=8, batch=32, isl=32, osl=4)
    assert steps[-1] / 1e9 > limit.decode_s


def test_capacity_check_names_the_batch():
    config = shape_only("120b").config
    with pytest.raises(UserError, match="--batch 32: .* at most"):
        limits.check_capacity(config, Precision(), parse_mesh("1x1"), 32, 256)
    limits.check_capacity(config, Precision(), parse_mesh("4x8"), 32, 256)  # fits a Galaxy
