import pytest

from ground.errors import UserError
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
    from ground.checkpoint import Checkpoint

    cfg = Checkpoint.open(tiny_model_dir).config
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


def test_weight_cache_dir_keyed_by_identity_whole_precision_and_mesh(tiny_random_dir, tmp_path):
    import shutil

    from ground.checkpoint import Checkpoint
    from tt_model.weights import cache_dir

    ckpt = Checkpoint.open(tiny_random_dir)
    assert cache_dir(None, ckpt, Precision(), MeshConfig(1, 8)) is None
    base = cache_dir(tmp_path, ckpt, Precision(), MeshConfig(1, 8))
    assert base.is_dir() and base.parent == tmp_path / "gptoss-bench" and base.name.startswith(ckpt.identity)
    others = {
        "mesh": cache_dir(tmp_path, ckpt, Precision(), MeshConfig(4, 8)),
        "experts": cache_dir(tmp_path, ckpt, Precision(expert_weights="bfloat8_b"), MeshConfig(1, 8)),
        "lm_head": cache_dir(tmp_path, ckpt, Precision(lm_head_weights="bfloat16"), MeshConfig(1, 8)),
        "router": cache_dir(tmp_path, ckpt, Precision(router_weights="bfloat8_b"), MeshConfig(1, 8)),
        "fidelity": cache_dir(tmp_path, ckpt, Precision(matmul_fidelity="HiFi4"), MeshConfig(1, 8)),
    }
    retrained = tmp_path / "retrained"
    shutil.copytree(tiny_random_dir, retrained)
    shard = sorted(retrained.glob("model-*.safetensors"))[-1]
    data = bytearray(shard.read_bytes())
    data[-3] ^= 0x10  # same config.json, same sizes, other weights
    shard.write_bytes(bytes(data))
    others["retrained"] = cache_dir(tmp_path, Checkpoint.open(retrained), Precision(), MeshConfig(1, 8))
    assert len({base, *others.values()}) == 1 + len(others), others
