import pytest
import torch
from transformers.integrations.mxfp4 import convert_moe_packed_tensors

from ground.mxfp4 import (
    FP4_MAGNITUDES,
    dequantize_expert_weight,
    dequantize_mxfp4,
    quantize_expert_weight,
    quantize_mxfp4,
)


def test_representable_values_round_trip_exactly():
    # Every FP4 magnitude times a power of two, with both signs, in one 32-wide block
    # whose maximum is exactly 6 * 2**-3.
    values = torch.cat([FP4_MAGNITUDES, -FP4_MAGNITUDES]).repeat(2) * 2.0**-3
    blocks, scales = quantize_mxfp4(values.unsqueeze(0))
    assert blocks.shape == (1, 1, 16) and blocks.dtype == torch.uint8
    assert scales.tolist() == [[127 - 3]]
    assert torch.equal(dequantize_mxfp4(blocks, scales)[0], values)


def test_error_bound_on_gaussian_weights():
    w = torch.randn(64, 256, generator=torch.Generator().manual_seed(0)) * 0.02
    blocks, scales = quantize_mxfp4(w)
    deq = dequantize_mxfp4(blocks, scales)
    # The scale puts the block max in (3, 6] * 2**e; the coarsest step (4 -> 6) errs by <= 2**e <= max/3.
    block_max = w.reshape(64, 8, 32).abs().amax(-1, keepdim=True).expand(-1, -1, 32).reshape(64, 256)
    assert ((deq - w).abs() <= block_max / 3 + 1e-12).all()
    pcc = torch.corrcoef(torch.stack([w.flatten(), deq.flatten()]))[0, 1]
    assert pcc > 0.98


def test_zero_block_and_bad_width():
    blocks, scales = quantize_mxfp4(torch.zeros(2, 32))
    assert scales.tolist() == [[0], [0]] and blocks.eq(0).all()
    assert dequantize_mxfp4(blocks, scales).eq(0).all()
    with pytest.raises(ValueError, match="multiple of 32, got 48"):
        quantize_mxfp4(torch.zeros(2, 48))


def test_matches_transformers_dequantizer_in_expert_layout():
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(4, 64, 96, generator=g)  # HF in-memory [E, in, out]
    blocks, scales = quantize_expert_weight(weight)
    assert blocks.shape == (4, 96, 2, 16) and scales.shape == (4, 96, 2)
    ours = dequantize_expert_weight(blocks, scales)
    theirs = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32)
    assert ours.shape == weight.shape
    assert torch.equal(ours, theirs)


def test_every_byte_and_scale_decodes_to_the_e2m1_value():
    """The pair-table decoder against the format's definition: every byte at scales across the E8M0 range
    (0xFF, NaN in the OCP spec, never occurs in GPT-OSS checkpoints and is left alone)."""
    import math

    from ground.mxfp4 import dequantize_mxfp4

    e2m1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    blocks = torch.arange(256, dtype=torch.uint8).reshape(16, 16)[None].expand(256, 16, 16).reshape(256, 16, 16)
    scales = torch.arange(256, dtype=torch.uint8)[:, None].expand(256, 16).contiguous()
    got = dequantize_mxfp4(blocks.reshape(256, 16, 16), scales).reshape(256, 256, 2)
    for scale in (0, 1, 100, 127, 130, 254):
        for byte in range(256):
            for nibble, half in ((byte & 0xF, 0), (byte >> 4, 1)):
                magnitude = e2m1[nibble & 7]
                exact = math.ldexp(-magnitude if nibble & 8 else magnitude, scale - 127)
                want = torch.tensor(exact, dtype=torch.float64).float().item()  # float32: 2**128 overflows to inf
                assert got[scale, byte, half].item() == want, (scale, byte, half)
