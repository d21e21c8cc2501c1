import pytest

from ground.errors import UserError
from tt_model import backend


def test_emulated_backend_is_module_like():
    ttnn = backend.get_ttnn("emulated")
    assert backend.backend_info(ttnn) == {"backend": "emulated", "ttnn_version": None}
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 8))
    assert mesh.get_num_devices() == 8 and ttnn.bfloat8_b.name == "BFLOAT8_B"
    assert ttnn.transformer.scaled_dot_product_attention is not None


def test_env_var_overrides_auto(monkeypatch):
    monkeypatch.setenv("GPTOSS_BENCH_BACKEND", "emulated")
    assert backend.backend_info(backend.get_ttnn("auto"))["backend"] == "emulated"


def test_auto_falls_back_to_emulator_without_device(monkeypatch):
    monkeypatch.delenv("GPTOSS_BENCH_BACKEND", raising=False)
    monkeypatch.setattr(backend, "_import_real", lambda: None)
    assert backend.backend_info(backend.get_ttnn())["backend"] == "emulated"


def test_real_ttnn_missing_is_a_user_error(monkeypatch):
    monkeypatch.setattr(backend, "_import_real", lambda: None)
    with pytest.raises(UserError, match="ttnn package is not installed"):
        backend.get_ttnn("ttnn")


def test_unknown_backend_is_a_user_error():
    with pytest.raises(UserError, match="'tpu' is not known"):
        backend.get_ttnn("tpu")
