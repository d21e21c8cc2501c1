"""Trains the bundled tiny GPT-OSS on the procedural corpus and writes it in the published layout.

    python -m bench.train_tiny --out ground/assets/tiny --seed 0

Float32 on CPU with transformers' own GptOssForCausalLM, a fixed thread count and deterministic
algorithms, so the same seed and command on the same machine give identical tensors. The last
``--qat-steps`` steps train through the shipped number formats (MXFP4 experts, bf16 rest,
straight-through), so the checkpoint as written scores like the float model did.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.corpus import generate, iter_items

BOS = "<|endoftext|>"
# Items per round of the training stream. Copying (induction over positions) and carries are the
# slowest skills to appear, so they get twice the share of the families learnt quickly.
TRAIN_MIX = {"letter_count": 1, "arithmetic": 2, "copy": 2, "sort": 1, "qa": 1}


@dataclass(frozen=True)
class TrainConfig:
    out: Path
    seed: int = 0
    steps: int = 1500
    batch: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    warmup: int = 30
    qat_steps: int = 100
    aux_loss_coef: float = 0.3
    threads: int = 2
    tokenizer_items: int = 20000
    vocab_size: int = 1024


def build_tokenizer(cfg: TrainConfig):
    from reference.tokenizer_tiny import train_bpe_tokenizer

    texts = [item.text for item in generate("train", cfg.tokenizer_items, seed=cfg.seed)]
    return train_bpe_tokenizer(texts, vocab_size=cfg.vocab_size)


def pack_sequences(items, tokenizer, seq_len: int):
    """Yields (input_ids, labels): BOS then whole items, one per line, padded (labels -100) to seq_len."""
    bos, pad = tokenizer.convert_tokens_to_ids(BOS), tokenizer.pad_token_id
    ids: list[int] = [bos]
    for item in items:
        tokens = tokenizer.encode(item.text + "\n", add_special_tokens=False)
        if len(ids) + len(tokens) > seq_len:
            labels = ids + [-100] * (seq_len - len(ids))
            yield ids + [pad] * (seq_len - len(ids)), labels
            ids = [bos]
        ids += tokens


def batches(split: str, tokenizer, cfg: TrainConfig, seed: int):
    if split == "train":
        items = iter_items(split, seed=seed, families=_mix_order(TRAIN_MIX), distinct=False)
    else:
        items = iter_items(split, seed=seed)
    seqs = pack_sequences(items, tokenizer, cfg.seq_len)
    while True:
        rows = [next(seqs) for _ in range(cfg.batch)]
        yield torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])


def _mix_order(mix: dict[str, int]) -> tuple[str, ...]:
    """One round of families, each as often as its weight (the stream repeats the round)."""
    return tuple(name for name, weight in mix.items() for _ in range(weight))


def _shipped_value(name: str, weight: torch.Tensor) -> torch.Tensor:
    """What the checkpoint writer stores for a float parameter, read back as float32."""
    from ground.mxfp4 import dequantize_expert_weight, quantize_expert_weight

    if name.endswith(("mlp.experts.gate_up_proj", "mlp.experts.down_proj")):
        return dequantize_expert_weight(*quantize_expert_weight(weight))
    return weight.to(torch.bfloat16).float()


def _lr(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def build_model(seed: int, aux_loss_coef: float):
    from transformers import GptOssForCausalLM

    from reference.presets import gpt_oss_config

    config = gpt_oss_config("tiny")
    config._attn_implementation = "eager"
    # Set before construction: the model copies the coefficient at __init__ (the preset keeps GPT-OSS's 0.9).
    config.router_aux_loss_coef = aux_loss_coef
    torch.manual_seed(seed)
    return GptOssForCausalLM(config)


def train(cfg: TrainConfig, log=print):
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(cfg.seed)
    tokenizer = build_tokenizer(cfg)
    model = build_model(cfg.seed, cfg.aux_loss_coef)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.01)
    data = batches("train", tokenizer, cfg, cfg.seed)
    params = dict(model.named_parameters())
    heldout = next(batches("heldout", tokenizer, cfg, cfg.seed))
    start, loss_log = time.perf_counter(), []
    for step in range(cfg.steps):
        input_ids, labels = next(data)
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg)
        qat = step >= cfg.steps - cfg.qat_steps
        # Straight-through: forward/backward at the shipped values, update the float weights.
        with at_shipped_precision(params) if qat else contextlib.nullcontext():
            out = model(input_ids=input_ids, labels=labels, output_router_logits=True)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lm_loss = out.loss.item() - cfg.aux_loss_coef * out.aux_loss.item()
        loss_log.append(lm_loss)
        if step % 50 == 0 or step == cfg.steps - 1:
            elapsed = time.perf_counter() - start
            log(f"step {step:5d}  lm_loss {lm_loss:.4f}  aux {out.aux_loss.item():.3f}  "
                f"lr {_lr(step, cfg):.2e}  {'qat ' if qat else ''}{(step + 1) / elapsed:.2f} steps/s")
        if step % 100 == 0 or step == cfg.steps - 1:
            log(f"step {step:5d}  held-out lm_loss at shipped precision {heldout_loss(model, params, heldout):.4f}")
    state = {n: _shipped_value(n, p.data) if cfg.qat_steps else p.data for n, p in params.items()}
    return model, tokenizer, state, {"seconds": time.perf_counter() - start, "final_lm_loss": sum(loss_log[-20:]) / len(loss_log[-20:])}


@contextlib.contextmanager
def at_shipped_precision(params: dict):
    """Parameters hold their shipped values inside the block and their float values again after."""
    floats = {n: p.data.clone() for n, p in params.items()}
    for n, p in params.items():
        p.data.copy_(_shipped_value(n, p.data))
    try:
        yield
    finally:
        for n, p in params.items():
            p.data.copy_(floats[n])


@torch.no_grad()
def heldout_loss(model, params: dict, batch) -> float:
    """Language-model loss on a held-out batch with the weights as they would be shipped."""
    with at_shipped_precision(params):
        model.eval()
        loss = model(input_ids=batch[0], labels=batch[1]).loss.item()
        model.train()
    return loss


def write(cfg: TrainConfig, tokenizer, state: dict[str, torch.Tensor]) -> Path:
    from reference.checkpoint_writer import write_checkpoint
    from reference.presets import get_preset, published_config

    config = published_config(get_preset("tiny"))
    return write_checkpoint(cfg.out, config, {n: t.contiguous() for n, t in state.items()}, tokenizer)


def parse_args(argv=None) -> TrainConfig:
    p = argparse.ArgumentParser(prog="python -m bench.train_tiny", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    defaults = TrainConfig(out=Path("."))
    for name in ("seed", "steps", "batch", "seq_len", "qat_steps", "threads", "warmup"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in ("lr", "aux_loss_coef"):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    return TrainConfig(**vars(p.parse_args(argv)))


def train_and_write(cfg: TrainConfig, log=print) -> Path:
    _, tokenizer, state, stats = train(cfg, log=log)
    out = write(cfg, tokenizer, state)
    log(f"wrote {out}: {stats['seconds']:.0f} s training, final lm loss {stats['final_lm_loss']:.4f}")
    return out


def main(argv=None) -> int:
    train_and_write(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
