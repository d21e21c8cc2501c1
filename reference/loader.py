"""The whole HF model for the CPU reference, built from an opened ``ground.checkpoint.Checkpoint``."""

from __future__ import annotations

import torch

from ground.checkpoint import Checkpoint


def load_hf_model(checkpoint: Checkpoint, dtype: torch.dtype = torch.float32):
    """The whole model, eager attention, MXFP4 experts dequantized on CPU (float32 by default:
    this CPU has no bf16 instructions, and bf16 expert matmuls run 50-100x slower). The config is
    the checkpoint's, already read: from_pretrained is not given a chance to read config.json again."""
    from transformers import GptOssForCausalLM, Mxfp4Config

    mxfp4 = checkpoint.config.is_mxfp4
    model = GptOssForCausalLM.from_pretrained(
        str(checkpoint.path),
        config=checkpoint.hf_config(quantized=mxfp4),
        dtype=dtype,
        attn_implementation="eager",
        quantization_config=Mxfp4Config(dequantize=True) if mxfp4 else None,
    )
    return model.eval()
