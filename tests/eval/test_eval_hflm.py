"""gptoss-ref scores what lm-eval's own HF model (HFLM) scores on the same checkpoint.

HFLM loads the bundled tiny model as transformers does for GPT-OSS on a CPU: MXFP4 experts
dequantized (Mxfp4Config(dequantize=True)), float32. Requests are the shipped tasks' own."""

import json

import pytest
import torch
from lm_eval.api.instance import Instance

from bench.lmeval import TASKS_DIR
from bench.corpus import FAMILIES
from ground.checkpoint import BUNDLED_TINY

TOLERANCE = 1e-4
DOCS_PER_FAMILY = 2


@pytest.fixture(scope="module")
def hflm():
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoModelForCausalLM, AutoTokenizer, Mxfp4Config

    model = AutoModelForCausalLM.from_pretrained(str(BUNDLED_TINY), quantization_config=Mxfp4Config(dequantize=True),
                                                 dtype=torch.float32)
    return HFLM(pretrained=model, tokenizer=AutoTokenizer.from_pretrained(str(BUNDLED_TINY)), batch_size=16)


def _pairs():
    pairs = []
    for family in FAMILIES:
        lines = (TASKS_DIR / "gptoss_tiny" / "data" / f"{family}.test.jsonl").read_text().splitlines()
        for doc in map(json.loads, lines[:DOCS_PER_FAMILY]):
            pairs += [(doc["prompt"], " " + choice) for choice in doc["choices"]]
    # An empty context (the prefix token stands in) and a continuation spanning lines.
    return pairs + [("", "What is 2 + 2? 4"), ("Copy: a b ->", " a b\nSort: 3 1 2 -> 1 2 3")]


def _requests(pairs):
    return [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]


def _max_diff(ours, theirs) -> float:
    assert [a[1] for a in ours] == [b[1] for b in theirs]  # is_greedy agrees too
    return max(abs(a[0] - b[0]) for a, b in zip(ours, theirs))


def test_loglikelihoods_equal_hflms(hflm, reference_lm, reference_lm_bos):
    pairs = _pairs()
    plain = _max_diff(reference_lm.loglikelihood(_requests(pairs)), hflm.loglikelihood(_requests(pairs), True))
    # As gptoss-bench eval runs it: add_bos_token=true puts the prefix token first (HFLM does the same for
    # a context that opens with its text; the tiny tokenizer adds none), and transformers' eager experts
    # sum in another order than its default grouped_mm (so equal to 1e-4 here, not bit for bit).
    spelled = [("<|endoftext|>" + c if c else c, x) for c, x in pairs]
    bos = _max_diff(reference_lm_bos.loglikelihood(_requests(pairs)), hflm.loglikelihood(_requests(spelled), True))
    texts = [f"{prompt}{answer}" for prompt, answer in pairs[::8]]
    rolling = [Instance("loglikelihood_rolling", {}, (t,), i) for i, t in enumerate(texts)]
    ours, theirs = reference_lm.loglikelihood_rolling(rolling), hflm.loglikelihood_rolling(rolling, True)
    rolled = max(abs(a - b) for a, b in zip(ours, theirs))
    print(f"\nmax |gptoss-ref - HFLM| over {len(pairs)} requests: {plain:.3g} (tokenizer's BOS), {bos:.3g} "
          f"(add_bos_token), {rolled:.3g} over {len(texts)} rolling texts")
    assert max(plain, bos, rolled) <= TOLERANCE
    assert plain == 0 and rolled == 0  # the same kernels as HFLM's: the same bits
