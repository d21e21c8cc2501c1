import pytest
import torch

from capture_factory import filled_captures
from ground.captures import LAYER_FIELDS, Captures


def test_save_load_round_trip_keeps_order_values_and_dtypes(tmp_path):
    captures = filled_captures(vocab=11)
    captures.save(tmp_path / "c.safetensors")
    loaded = Captures.load(tmp_path / "c.safetensors")
    assert list(loaded.phases) == ["prefill", "decode_0"]
    assert loaded.num_layers == 2
    assert loaded.metadata["model"] == "unit"
    for phase in captures.phases:
        for i in range(2):
            for name in LAYER_FIELDS:
                torch.testing.assert_close(loaded.phases[phase].layers[i][name], captures.phases[phase].layers[i][name], rtol=0, atol=0)
    assert loaded.phases["decode_0"].layers[1]["topk_ids"].dtype == torch.int64
    assert loaded.phases["decode_0"].model["logits"].shape == (2, 1, 11)
    assert not list(tmp_path.glob("*.tmp"))


def test_malformed_flat_key_is_rejected():
    with pytest.raises(ValueError, match="prefill.layers.x"):
        Captures.from_flat({"prefill.layers.x": torch.zeros(1)})
