"""GPT-OSS checkpoint directories in the published Hugging Face layout.

What the published checkpoints hold, and so what is written here: ``config.json`` (see
``presets.published_config``), ``generation_config.json``, sharded ``model-0000K-of-0000N.safetensors``
(zero-based K, N = last index, as the published files are named) with
``model.safetensors.index.json``, bfloat16 for everything but the experts, experts as MXFP4
``*_blocks``/``*_scales`` uint8 plus bfloat16 biases, and the tokenizer files.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch

from ground.checkpoint import BUNDLED_TINY, looks_like_checkpoint
from ground.errors import UserError
from ground.fsutil import temp_dir_beside
from ground.mxfp4 import quantize_expert_weight
from reference.presets import Preset, get_preset, published_config

EXPERT_WEIGHTS = ("gate_up_proj", "down_proj")
DEFAULT_SHARD_BYTES = 4 << 30


# ----------------------------------------------------------------------------- tensors


def _expert_tensors(prefix: str, name: str, weight: torch.Tensor) -> dict[str, torch.Tensor]:
    blocks, scales = quantize_expert_weight(weight)
    return {f"{prefix}.{name}_blocks": blocks, f"{prefix}.{name}_scales": scales}


def quantize_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """HF in-memory names and float experts -> published names, MXFP4 experts, bf16 rest."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        prefix, _, leaf = name.rpartition(".")
        if prefix.endswith("mlp.experts") and leaf in EXPERT_WEIGHTS:
            out.update(_expert_tensors(prefix, leaf, tensor.float()))
        else:
            out[name] = tensor.detach().to(torch.bfloat16).contiguous()
    return out


def _layer_groups(state: dict[str, torch.Tensor], layers: int) -> Iterator[dict[str, torch.Tensor]]:
    """Published order: embedding, then each layer, then final norm and lm_head."""
    yield {k: v for k, v in state.items() if k.startswith("model.embed_tokens.")}
    for i in range(layers):
        yield {k: v for k, v in state.items() if k.startswith(f"model.layers.{i}.")}
    yield {k: v for k, v in state.items() if k.startswith(("model.norm.", "lm_head."))}


class _RandomWeights:
    """Random GPT-OSS weights at sensible scales, generated one layer at a time so that even a
    full-width 120B layer (128 experts) never needs more than one layer in memory."""

    def __init__(self, preset: Preset, seed: int):
        self.p = preset
        self.seed = seed

    def _gen(self, salt: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + salt)

    def _normal(self, g: torch.Generator, *shape: int, std: float = 0.02) -> torch.Tensor:
        return (torch.randn(*shape, generator=g) * std).to(torch.bfloat16)

    def embedding(self) -> dict[str, torch.Tensor]:
        return {"model.embed_tokens.weight": self._normal(self._gen(0), self.p.vocab_size, self.p.hidden_size)}

    def head(self) -> dict[str, torch.Tensor]:
        g = self._gen(1)
        return {
            "model.norm.weight": (1 + 0.1 * torch.randn(self.p.hidden_size, generator=g)).to(torch.bfloat16),
            "lm_head.weight": self._normal(g, self.p.vocab_size, self.p.hidden_size),
        }

    def layer(self, i: int) -> dict[str, torch.Tensor]:
        p, g, pre = self.p, self._gen(100 + i), f"model.layers.{i}"
        h, q, kv = p.hidden_size, p.num_attention_heads * p.head_dim, p.num_key_value_heads * p.head_dim
        t: dict[str, torch.Tensor] = {}
        for norm in ("input_layernorm", "post_attention_layernorm"):
            t[f"{pre}.{norm}.weight"] = (1 + 0.1 * torch.randn(h, generator=g)).to(torch.bfloat16)
        for proj, (out_f, in_f) in {"q_proj": (q, h), "k_proj": (kv, h), "v_proj": (kv, h), "o_proj": (h, q)}.items():
            t[f"{pre}.self_attn.{proj}.weight"] = self._normal(g, out_f, in_f)
            t[f"{pre}.self_attn.{proj}.bias"] = self._normal(g, out_f)
        t[f"{pre}.self_attn.sinks"] = self._normal(g, p.num_attention_heads, std=0.5)
        # Router logits with std ~1 on unit-RMS input: routing neither uniform nor collapsed.
        t[f"{pre}.mlp.router.weight"] = self._normal(g, p.num_local_experts, h, std=h**-0.5)
        t[f"{pre}.mlp.router.bias"] = self._normal(g, p.num_local_experts, std=0.1)
        t.update(self._experts(g, pre))
        return t

    def _experts(self, g: torch.Generator, pre: str) -> dict[str, torch.Tensor]:
        p, e = self.p, self.p.num_local_experts
        shapes = {"gate_up_proj": (p.hidden_size, 2 * p.intermediate_size), "down_proj": (p.intermediate_size, p.hidden_size)}
        t: dict[str, torch.Tensor] = {}
        for name, (in_f, out_f) in shapes.items():
            # Expert by expert: a float32 [E, in, out] for 128 experts would be 8.5 GB.
            parts = [quantize_expert_weight(torch.randn(1, in_f, out_f, generator=g) * 0.02) for _ in range(e)]
            t[f"{pre}.mlp.experts.{name}_blocks"] = torch.cat([b for b, _ in parts])
            t[f"{pre}.mlp.experts.{name}_scales"] = torch.cat([s for _, s in parts])
            t[f"{pre}.mlp.experts.{name}_bias"] = self._normal(g, e, out_f)
        return t

    def groups(self, layers: int) -> Iterator[dict[str, torch.Tensor]]:
        yield self.embedding()
        for i in range(layers):
            yield self.layer(i)
        yield self.head()


# ----------------------------------------------------------------------------- writing


_ST_DTYPES = {torch.bfloat16: "BF16", torch.uint8: "U8", torch.float32: "F32", torch.float16: "F16"}


class _ShardWriter:
    """Streams tensors into one safetensors file without holding the shard in memory.

    ``safetensors.save_file`` serializes a whole shard into one buffer, which doubles a 4 GiB
    shard in RAM; here tensor bytes go straight to a body file and the header (which must
    come first) is prepended when the shard is closed. Format: 8-byte little-endian header
    length, JSON header with dtype/shape/data_offsets, 8-byte aligned, then the data."""

    def __init__(self, path: Path):
        self.path = path
        self.body_path = path.with_suffix(".body")
        self.body = open(self.body_path, "wb")
        self.header: dict[str, dict] = {}
        self.size = 0

    def add(self, name: str, tensor: torch.Tensor) -> None:
        tensor = tensor.detach().contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy()
        self.body.write(memoryview(raw))
        self.header[name] = {"dtype": _ST_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                             "data_offsets": [self.size, self.size + raw.nbytes]}
        self.size += raw.nbytes

    def close(self) -> list[str]:
        self.body.close()
        header = json.dumps({"__metadata__": {"format": "pt"}, **self.header}, separators=(",", ":")).encode()
        header += b" " * (-len(header) % 8)
        with open(self.path, "wb") as out, open(self.body_path, "rb") as body:
            out.write(len(header).to_bytes(8, "little") + header)
            shutil.copyfileobj(body, out, 16 << 20)
        self.body_path.unlink()
        return list(self.header)


def _write_shards(directory: Path, groups: Iterable[dict[str, torch.Tensor]], max_shard_bytes: int) -> None:
    shard_files: list[tuple[Path, list[str]]] = []
    writer: _ShardWriter | None = None
    total = 0
    for group in groups:
        group_bytes = sum(t.numel() * t.element_size() for t in group.values())
        if writer is not None and writer.size + group_bytes > max_shard_bytes:
            shard_files.append((writer.path, writer.close()))
            writer = None
        if writer is None:
            writer = _ShardWriter(directory / f"shard-{len(shard_files)}.tmp")
        for name, tensor in group.items():
            writer.add(name, tensor)
        total += group_bytes
        del group  # one layer in memory at a time
    if writer is not None:
        shard_files.append((writer.path, writer.close()))

    last = len(shard_files) - 1
    weight_map: dict[str, str] = {}
    for index, (path, names) in enumerate(shard_files):
        final = f"model-{index:05d}-of-{last:05d}.safetensors"
        path.rename(directory / final)
        weight_map.update({name: final for name in names})
    index_doc = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index_doc, indent=2) + "\n")


def _generation_config(config: dict) -> dict:
    eos = config["eos_token_id"]
    return {"bos_token_id": 199998 if config["vocab_size"] > 200000 else eos, "do_sample": True,
            "eos_token_id": [eos, config["pad_token_id"]], "pad_token_id": config["pad_token_id"],
            "transformers_version": config["transformers_version"]}


def _prepare_out_dir(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {str(out_dir)!r} is a file; expected a directory to write the checkpoint into")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not looks_like_checkpoint(out_dir):
        raise UserError(f"--out {str(out_dir)!r} is a non-empty directory that is not a GPT-OSS checkpoint; refusing to overwrite it")
    try:
        return temp_dir_beside(out_dir)
    except OSError as exc:
        raise UserError(f"--out {str(out_dir)!r} is not writable: {exc.strerror}") from None


def _finish(tmp: Path, out_dir: Path) -> Path:
    # Written whole under a temporary name and renamed, so a crash never leaves a directory
    # that looks like a complete checkpoint.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def _build(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """``fill(tmp)`` writes the checkpoint into a fresh directory beside ``out_dir``, which then replaces it."""
    tmp = _prepare_out_dir(out_dir)
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _finish(tmp, out_dir)


def write_directory(out_dir, config: dict, groups: Iterable[dict[str, torch.Tensor]], tokenizer,
                    max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> Path:
    def fill(tmp: Path) -> None:
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "generation_config.json").write_text(json.dumps(_generation_config(config), indent=2) + "\n")
        tokenizer.save_pretrained(str(tmp))
        _write_shards(tmp, groups, max_shard_bytes)

    return _build(Path(out_dir), fill)


def write_checkpoint(out_dir, config: dict, state_dict: dict[str, torch.Tensor], tokenizer,
                     max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> Path:
    """Writes an in-memory GptOssForCausalLM state dict (float experts) in the published layout.

    ``config`` is the published-form dict (``presets.published_config``)."""
    quantized = quantize_state_dict(state_dict)
    return write_directory(out_dir, config, _layer_groups(quantized, config["num_hidden_layers"]), tokenizer, max_shard_bytes)


def _tokenizer_for(preset: Preset):
    if preset.vocab_size > 200000:
        from reference.tokenizer_o200k import build_harmony_tokenizer

        return build_harmony_tokenizer()
    from reference.tokenizer_tiny import train_bpe_tokenizer

    return train_bpe_tokenizer(vocab_size=preset.vocab_size)


def make_checkpoint(preset: str, out_dir, layers: int | None = None, seed: int = 0, random: bool = False,
                    max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> Path:
    """Writes a checkpoint for a preset: the bundled trained tiny model, or random weights."""
    spec = get_preset(preset)
    config = published_config(spec, layers)
    if preset == "tiny" and not random and layers is None:
        if looks_like_checkpoint(BUNDLED_TINY):
            return _copy_bundled(Path(out_dir))
        print(f"warning: no bundled trained tiny model at {BUNDLED_TINY}; writing random weights", file=sys.stderr)
    groups = _RandomWeights(spec, seed).groups(config["num_hidden_layers"])
    return write_directory(out_dir, config, groups, _tokenizer_for(spec), max_shard_bytes)


def _copy_bundled(out_dir: Path) -> Path:
    def fill(tmp: Path) -> None:
        for source in BUNDLED_TINY.iterdir():
            # Contents only (copyfile, not copytree): the copies get the user's umask, not the package's modes.
            shutil.copyfile(source, tmp / source.name)

    return _build(out_dir, fill)
