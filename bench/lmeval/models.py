"""``gptoss-tt`` and ``gptoss-ref``: the TT-NN model and the HF CPU reference as lm-eval models.

Both subclass lm-eval's ``TemplateLM``, so context/continuation splitting is lm-eval's own, and
score with the same code: requests sorted longest first and batched with lm-eval's ``Collator``
(one-token continuations of a shared context computed once, as HFLM does), log-probabilities from
full-sequence logits, rolling windows from ``lm_eval.utils``. Only the forward pass differs
(``bench.lmeval.sides``). The reference's numbers equal HFLM's on the same checkpoint
(``tests/eval/test_eval_hflm.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import lm_eval.models  # noqa: F401  (lm-eval's own names, e.g. "hf", registered before ours)
import torch
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import Collator
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

from bench.lmeval import chat
from bench.lmeval.args import CommonArgs, DeviceArgs, ReferenceArgs, parse
from bench.lmeval.generation import gen_spec, generate_batch
from ground.checkpoint import Checkpoint, bundled_tiny
from ground.errors import UserError


class Progress:
    """Progress hooks for a caller (the CLI draws bars); lm-eval itself never sees them."""

    def __init__(self, start: Callable[[str, int], None] = lambda kind, total: None,
                 advance: Callable[[int], None] = lambda n: None):
        self.start, self.advance = start, advance


class GptOssLM(TemplateLM):
    NAME = ""
    ARGS: type[CommonArgs] = CommonArgs

    def __init__(self, checkpoint: Checkpoint | None = None, precision=None, progress: Progress | None = None,
                 **model_args):
        """``model_args`` are lm-eval's (``pretrained=...``); ``checkpoint`` (already opened) and
        ``precision`` (a tt_model Precision, e.g. from a suite's dtypes) are for callers in Python."""
        super().__init__()
        self.args = parse(self.NAME, self.ARGS, model_args)
        if checkpoint is None:
            checkpoint = (Checkpoint.open(self.args.pretrained, "pretrained") if self.args.pretrained
                          else bundled_tiny())
        self.checkpoint = checkpoint
        self.tokenizer = checkpoint.tokenizer
        self.progress = progress or Progress()
        self._quiet = progress is not None  # the caller draws progress; lm-eval's tqdm bars would interleave
        self._precision = precision
        self._harmony = chat.has_harmony_vocab(self.tokenizer)
        self.side = self._open_side()

    def _open_side(self):
        raise NotImplementedError

    def close(self) -> None:
        self.side.close()

    # ------------------------------------------------------------------ lm-eval's model interface
    @property
    def eot_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        # As HFLM: an explicit prefix_token_id, else BOS, else EOS.
        if self.args.prefix_token_id is not None:
            return self.args.prefix_token_id
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.tokenizer.eos_token_id

    @property
    def max_length(self) -> int:
        return self.args.max_length or self.checkpoint.config.max_position_embeddings

    @property
    def max_gen_toks(self) -> int:
        return self.args.max_gen_toks

    @property
    def batch_size(self) -> int:
        return self.args.effective_batch_size()

    @property
    def tokenizer_name(self) -> str:
        return str(self.checkpoint.path).replace("/", "__")

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, left_truncate_len: int | None = None,
                   **kwargs) -> list[int]:
        """HFLM's rule (``add_bos_token`` decides add_special_tokens when the caller does not), plus:
        with add_bos_token=true the prefix token is prepended when the tokenizer adds none itself
        (the bundled tiny tokenizer adds none; its model was trained with <|endoftext|> first)."""
        bos = self.args.add_bos_token if add_special_tokens is None else add_special_tokens
        if add_special_tokens is None and string.startswith(self._prefix_text()):
            bos = False  # as HFLM: a string that already opens with the prefix token gets no second one
        ids = self.tokenizer.encode(string, add_special_tokens=True if bos is None else bos)
        if bos and ids[:1] != [self.prefix_token_id]:
            ids = [self.prefix_token_id, *ids]
        return ids[-left_truncate_len:] if left_truncate_len else ids

    def tok_decode(self, tokens, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=skip_special_tokens)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        return super().loglikelihood(requests, disable_tqdm=disable_tqdm or self._quiet)

    def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, override_bs: int | None = None):
        collator = Collator(requests, sort_fn=lambda r: (-len(r[1] + r[2]), tuple(r[1] + r[2])),
                            group_by="contexts", group_fn=lambda r: r[-2] + r[-1][:-1])
        self.progress.start("loglikelihood", len(requests))
        results = []
        for chunk in collator.get_batched(n=override_bs or self.batch_size):
            # Inputs longer than the context are cut from the left, as HFLM cuts them.
            rows = [(ctx + cont)[-(self.max_length + 1):][:-1] for _, ctx, cont in chunk]
            for (key, ctx, cont), logits in zip(chunk, self.side.forward(rows)):
                scored = logits[len(logits) - len(cont):].log_softmax(-1)[None]  # [1, cont, V]
                greedy = scored.argmax(-1)
                for key, cont_toks, logprobs in collator.get_cache(req_str=key, cxt_toks=ctx, cont_toks=cont,
                                                                   logits=scored):
                    target = torch.tensor(cont_toks, dtype=torch.long)[None]
                    answer = (float(logprobs.gather(2, target[..., None]).sum()),
                              bool((greedy[:, -target.shape[1]:] == target).all()))
                    results.append(answer)
                    if key is not None:
                        self.cache_hook.add_partial("loglikelihood", key, answer)
                    self.progress.advance(1)
        return collator.get_original(results)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        windows, owner = [], []
        for index, (text,) in enumerate(r.args for r in requests):
            # The string's own tokens (no BOS): the first window's context is the prefix token.
            tokens = self.tok_encode(text, add_special_tokens=False)
            for window in get_rolling_token_windows(token_list=tokens, prefix_token=self.prefix_token_id,
                                                    max_seq_len=self.max_length, context_len=1):
                windows.append((None, *make_disjoint_window(window)))
                owner.append(index)
        totals = [0.0] * len(requests)
        for index, (logprob, _) in zip(owner, self._loglikelihood_tokens(windows)):
            totals[index] += logprob
        for request, total in zip(requests, totals):
            self.cache_hook.add_partial("loglikelihood_rolling", request.args, total)
        return totals

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        collator = Collator([r.args for r in requests], sort_fn=lambda a: (-len(self.tok_encode(a[0])), a[0]),
                            group_by="gen_kwargs", group_fn=lambda a: a[1])
        self.progress.start("generate_until", len(requests))
        stop_ids, pad_id = self._stop_ids(), self._pad_id()
        texts = []
        for chunk in collator.get_batched(n=self.batch_size):
            contexts, all_kwargs = zip(*chunk)
            spec = gen_spec(dict(all_kwargs[0]), self.max_gen_toks, self.args.seed)
            room = self.max_length - spec.max_new
            if room <= 0:
                raise UserError(f"max_gen_toks {spec.max_new} leaves no room for a prompt in {self.max_length} positions")
            prompts = [self.tok_encode(c, left_truncate_len=room) for c in contexts]
            harmony = self._harmony and all(c.endswith(chat.COMPLETION_TAIL) for c in contexts)
            decode = self._harmony_decode if harmony else self.tok_decode
            for context, kwargs, text in zip(contexts, all_kwargs,
                                             generate_batch(self.side, prompts, spec, decode, stop_ids, pad_id)):
                texts.append(text)
                self.cache_hook.add_partial("generate_until", (context, kwargs), text)
            self.progress.advance(len(chunk))
        return collator.get_original(texts)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return chat.render(self.tokenizer, chat_history, add_generation_prompt)

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        if not chat_template:
            return None
        chat.require_template(self.tokenizer, model=self.checkpoint.path.name)
        return self.tokenizer.chat_template or "harmony (openai-harmony HARMONY_GPT_OSS)"

    def get_model_info(self) -> dict:
        return {"model_path": str(self.checkpoint.path), "model_identity": self.checkpoint.identity,
                "model_config_hash": self.checkpoint.config_hash, "side": self.side.name, **self.side.info}

    # ------------------------------------------------------------------ helpers
    def _harmony_decode(self, tokens: list[int]) -> str:
        return chat.final_answer(self.tok_decode(tokens, skip_special_tokens=False))

    def _prefix_text(self) -> str:
        return self.tokenizer.decode([self.prefix_token_id])

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else self.eot_token_id

    def _stop_ids(self) -> set[int]:
        """End-of-sequence ids: the tokenizer's and generation_config.json's (what HF generate stops on)."""
        ids = {self.eot_token_id} - {None}
        path = self.checkpoint.path / "generation_config.json"
        if path.is_file():
            eos = json.loads(path.read_text()).get("eos_token_id")
            ids |= set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        return ids


@register_model("gptoss-ref")
class GptOssReference(GptOssLM):
    """The HF CPU reference (float32 unless dtype=bfloat16)."""

    NAME = "gptoss-ref"
    ARGS = ReferenceArgs

    def _open_side(self):
        from bench.lmeval.sides import ReferenceSide

        return ReferenceSide(self.checkpoint, self.args.dtype, self.args.experts_implementation)


@register_model("gptoss-tt")
class GptOssDevice(GptOssLM):
    """The TT-NN model on a mesh (Wormhole through ttnn, or the host emulator)."""

    NAME = "gptoss-tt"
    ARGS = DeviceArgs

    def _open_side(self):
        from bench.lmeval.sides import DeviceSide

        precision = self._precision if self._precision is not None else self.args.precision
        return DeviceSide(self.checkpoint, self.args.mesh, self.args.backend, precision)


__all__ = ["GptOssDevice", "GptOssLM", "GptOssReference", "Progress"]
