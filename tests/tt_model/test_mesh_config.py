import pytest

from bench.errors import UserError
from tt_model.mesh import MeshConfig, check_divisibility, parse_mesh
from tt_model.precision import Precision, resolve_precision


@pytest.mark.parametrize("spec, rows, cols", [("1x1", 1, 1), ("1x8", 1, 8), ("4x8", 4, 8), ("N150", 1, 1),
                                              ("n300", 1, 2), ("T3K", 1, 8), ("TG", 4, 8), ((2, 4), 2, 4)])
def test_parse_mesh(spec, rows, cols):
    mesh = parse_mesh(spec)
    assert (mesh.rows, mesh.cols, mesh.tp, mesh.ep) == (rows, cols, cols, rows)


def test_mesh_from_env(monkeypatch):
    monkeypatch.setenv("MESH_DEVICE", "T3K")
    assert parse_mesh(None) == MeshConfig(1, 8)


@pytest.mark.parametrize("bad", ["8", "0x8", "1x", "big"])
def test_bad_mesh_is_user_error(bad):
    with pytest.raises(UserError, match=f"mesh '{bad}' is not understood"):
        parse_mesh(bad)


def test_divisibility(tiny_model_dir):
    from tt_model.config import load_config

    cfg = load_config(tiny_model_dir)
    check_divisibility(MeshConfig(4, 8), cfg)
    with pytest.raises(UserError, match="num_local_experts=8 does not split over 3 devices"):
        check_divisibility(MeshConfig(3, 8), cfg)


def test_precision_defaults_and_errors():
    p = resolve_precision(None)
    assert (p.attention_weights, p.lm_head_weights, p.expert_weights, p.activations, p.router_fidelity) == \
        ("bfloat8_b", "bfloat8_b", "bfloat4_b", "bfloat16", "HiFi4")
    assert resolve_precision("bf8_experts").expert_weights == "bfloat8_b"
    with pytest.raises(UserError, match="expert_weights='fp4'"):
        Precision(expert_weights="fp4")
    with pytest.raises(UserError, match="precision 'fast' is not known"):
        resolve_precision("fast")


def test_weight_cache_dir_keyed_by_checkpoint_precision_mesh(tiny_model_dir, tmp_path, monkeypatch):
    from reference.checkpoint import config_hash
    from tt_model.weights import cache_dir

    monkeypatch.delenv("TT_CACHE_PATH", raising=False)
    assert cache_dir(tiny_model_dir, Precision(), MeshConfig(1, 8)) is None
    monkeypatch.setenv("TT_CACHE_PATH", str(tmp_path))
    path = cache_dir(tiny_model_dir, Precision(expert_weights="bfloat8_b"), MeshConfig(4, 8))
    assert path == tmp_path / "gptoss-bench" / f"{config_hash(tiny_model_dir)}_bfloat8_b_bfloat8_b_4x8"
    assert path.is_dir()
