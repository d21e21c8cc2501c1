from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data" / "blockfloat_roundtrip.pt"
VECTORS = torch.load(DATA)


@pytest.mark.parametrize("key", sorted(VECTORS["outputs"]))
def test_roundtrip_matches_device_bit_for_bit(ttnn, key):
    dtype_name, _, case = key.split("/")
    x = VECTORS["inputs"][case]
    t = ttnn.from_torch(x, dtype=getattr(ttnn, dtype_name), layout=ttnn.TILE_LAYOUT)
    got = ttnn.to_torch(t).to(torch.float32)
    assert torch.equal(got.view(torch.int32), VECTORS["outputs"][key].view(torch.int32))


def test_block_float_needs_tile_layout(ttnn):
    with pytest.raises(RuntimeError, match="Layout must be Layout::TILE"):
        ttnn.from_torch(torch.randn(32, 32), dtype=ttnn.bfloat8_b, layout=ttnn.ROW_MAJOR_LAYOUT)


def test_padded_shape_is_whole_tiles(ttnn):
    t = ttnn.from_torch(torch.randn(3, 50), dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT)
    assert tuple(t.shape) == (3, 50) and tuple(t.padded_shape) == (32, 64)
