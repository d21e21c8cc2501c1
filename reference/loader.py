"""Finding and loading GPT-OSS checkpoints for the CPU reference."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from bench.errors import UserError


def resolve_model_dir(arg: str | os.PathLike | None = None) -> Path:
    """``--model``, else ``$HF_MODEL`` (tt-metal's convention), else the bundled tiny model."""
    from reference.checkpoint import bundled_tiny_dir

    if arg is not None:
        source, path = "--model", Path(arg)
    elif os.environ.get("HF_MODEL"):
        source, path = "HF_MODEL", Path(os.environ["HF_MODEL"])
    else:
        path = bundled_tiny_dir()
        if not (path / "config.json").exists():
            raise UserError(f"the bundled tiny model is missing at {path}; pass --model DIR or run "
                            "'gptoss-bench make-model --preset tiny --random --out DIR'")
        return path
    return validate_model_dir(path, source)


def validate_model_dir(path: Path, source: str = "--model") -> Path:
    if not path.is_dir():
        raise UserError(f"{source} {str(path)!r} is not a directory; expected a GPT-OSS checkpoint directory")
    config_file = path / "config.json"
    try:
        model_type = json.loads(config_file.read_text()).get("model_type")
    except FileNotFoundError:
        raise UserError(f"{source} {str(path)!r} has no config.json; expected a GPT-OSS checkpoint directory") from None
    except ValueError as exc:
        raise UserError(f"{source} {str(config_file)!r} is not valid JSON ({exc})") from None
    if model_type != "gpt_oss":
        raise UserError(f"{source} {str(path)!r} holds model_type {model_type!r}; expected 'gpt_oss'")
    return path


def load_config(model_dir: str | os.PathLike):
    from transformers import GptOssConfig

    config = GptOssConfig.from_pretrained(str(model_dir))
    config._attn_implementation = "eager"
    return config


def load_hf_model(model_dir: str | os.PathLike, dtype: torch.dtype = torch.float32):
    """The whole model, eager attention, MXFP4 experts dequantized on CPU (float32 by default:
    this CPU has no bf16 instructions, and bf16 expert matmuls run 50-100x slower)."""
    from transformers import GptOssForCausalLM, Mxfp4Config

    has_mxfp4 = "quantization_config" in json.loads((Path(model_dir) / "config.json").read_text())
    model = GptOssForCausalLM.from_pretrained(
        str(model_dir),
        dtype=dtype,
        attn_implementation="eager",
        quantization_config=Mxfp4Config(dequantize=True) if has_mxfp4 else None,
    )
    return model.eval()


def load_tokenizer(model_dir: str | os.PathLike):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir))
